"""Producing the simulated stream to Kafka: rate limit, progress bar, delivery reports, stats."""

from __future__ import annotations

import logging
import random
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tqdm import tqdm

from eventlake.errors import BrokerUnavailable
from eventlake.registry import REGISTRY, topic_for
from eventlake.settings import Settings
from ingest.kafka import cluster
from ingest.kafka.cluster import TopicPartitionKey
from ingest.simulator.stream import OutMessage, SimulationOptions, messages
from kafka_io.producer import Delivery, DeliveryFailed, EventProducer

log = logging.getLogger(__name__)

PRODUCER_DEFAULTS = {
    # Larger batches: at thousands of events/s, 5 ms made the broker serve about a thousand
    # small produce requests a second (docs/benchmarks.md, "Freshness").
    "linger.ms": 50,
    "batch.num.messages": 10_000,
    "queue.buffering.max.messages": 200_000,
}
_FLUSH_TIMEOUT_S = 60.0
_PACE_S = 0.01


@dataclass
class SimulationStats:
    """What a simulation produced: per event type, per topic, malformed per rejection code."""

    seed: int
    produced: int = 0
    bytes: int = 0
    by_type: Counter[str] = field(default_factory=Counter)  # well-formed messages, copies too
    by_topic: Counter[str] = field(default_factory=Counter)
    malformed: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    late: int = 0
    out_of_order: int = 0
    seconds: float = 0.0
    last_offsets: dict[TopicPartitionKey, int] = field(default_factory=dict)  # acknowledged

    @property
    def messages_per_second(self) -> float:
        """Messages produced per second of wall time."""
        return self.produced / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        """Returns a few lines for a person: totals, then counts per type, topic and code."""
        lines = [
            f"produced {self.produced} messages ({self.bytes / 1e6:.1f} MB) in "
            f"{self.seconds:.1f} s, {self.messages_per_second:,.0f}/s, seed {self.seed}",
            f"  faults: {self.duplicates} duplicates, {self.late} late, "
            f"{self.out_of_order} out of order, {sum(self.malformed.values())} malformed",
        ]
        sections = {"types": self.by_type, "topics": self.by_topic, "malformed": self.malformed}
        for title, counts in sections.items():
            if counts:
                pairs = ", ".join(f"{k}={v}" for k, v in sorted(counts.items()))
                lines.append(f"  {title}: {pairs}")
        return "\n".join(lines)


class _Deliveries:
    """Delivery reports: the last acknowledged offset per partition (failures: see `flush`)."""

    def __init__(self) -> None:
        self.last_offsets: dict[TopicPartitionKey, int] = {}

    def __call__(self, delivery: Delivery | None, _error: str | None) -> None:
        if delivery is not None:
            key = (delivery.topic, delivery.partition)
            self.last_offsets[key] = max(delivery.offset, self.last_offsets.get(key, -1))


def simulate(
    settings: Settings,
    options: SimulationOptions,
    *,
    progress: bool | None = None,
    stop_event: threading.Event | None = None,
) -> SimulationStats:
    """Returns the stats of the simulated traffic, produced to the settings' topics and flushed.

    Args:
        progress: show a progress bar (None = when `options.count` > 0 and stderr is a TTY).
        stop_event: set it to stop early (what was produced is still flushed).

    Raises:
        BrokerUnavailable: the broker is unreachable, a topic is missing, or a message was not
            delivered.
    """
    topics = tuple(settings.topics)
    cluster.require_topics(settings, sorted({topic_for(t, topics) for t in REGISTRY}))
    seed = options.seed if options.seed is not None else random.SystemRandom().getrandbits(32)
    stats = SimulationStats(seed=seed)
    deliveries = _Deliveries()
    # room for the too_large messages, which must exceed what the ingester accepts
    max_bytes = max(1_000_000, settings.max_message_bytes + 65_536)
    # The library's producer (idempotent, acks=all); messages go as the stream encoded them,
    # malformed ones included.
    producer = EventProducer(settings, config={**PRODUCER_DEFAULTS, "message.max.bytes": max_bytes})
    show = progress if progress is not None else options.count > 0 and sys.stderr.isatty()
    bar = _progress_bar(options.count) if show and options.count > 0 else None
    stream = messages(
        options, seed=seed, topics=topics, max_message_bytes=settings.max_message_bytes
    )
    started = time.monotonic()
    try:
        for message in stream:
            if options.count and stats.produced >= options.count:
                break
            if stop_event is not None and stop_event.is_set():
                break
            if options.rate:
                ahead = started + stats.produced / options.rate - time.monotonic()
                if ahead > _PACE_S:  # sleep in slices, not once per message
                    time.sleep(ahead)
            producer.send_message(message.topic, message.key, message.value, deliveries)
            _count(stats, message)
            if stats.produced % 1000 == 0:
                producer.poll(0)  # serve delivery reports
                if bar is not None:
                    bar.update(1000)
    finally:
        try:
            producer.flush(_FLUSH_TIMEOUT_S)
            undelivered = None
        except DeliveryFailed as err:
            undelivered = err
        if bar is not None:
            bar.update(stats.produced % 1000)
            bar.close()
    stats.seconds = time.monotonic() - started
    stats.last_offsets = dict(deliveries.last_offsets)
    if undelivered is not None:
        raise BrokerUnavailable(
            f"of {stats.produced} messages, {undelivered} (Kafka at {settings.kafka_bootstrap})"
        )
    log.debug("simulation done: %s", stats.summary().replace("\n", ";"))
    return stats


def _count(stats: SimulationStats, message: OutMessage) -> None:
    stats.produced += 1
    stats.bytes += len(message.value)
    stats.by_topic[message.topic] += 1
    if message.event_type is None:
        stats.malformed[message.rejection or "unknown"] += 1
        return
    stats.by_type[message.event_type] += 1
    stats.duplicates += message.duplicate
    stats.late += message.late and not message.duplicate
    stats.out_of_order += message.reordered


def _progress_bar(total: int) -> tqdm[Any]:
    return tqdm(total=total, unit="msg", unit_scale=True, file=sys.stderr, desc="simulate")
