"""How an ingester runs: its options (the flags of `eventlake ingest`) and its consumer config.

Light to import (no Polars, no Delta): the command builds its options and starts joining the
consumer group before the heavy modules load (`ingest.consume.ingester`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eventlake.settings import Settings
from ingest.kafka import cluster

CONSUMER_DEFAULTS = {
    "enable.auto.commit": False,
    "auto.offset.reset": "earliest",
    "session.timeout.ms": 6000,  # the group joins in about half of this (docs/deploy-kafka.md)
    "heartbeat.interval.ms": 1000,
    "fetch.wait.max.ms": 50,  # a fetch is not woken by new data: this bounds latency
    "enable.partition.eof": True,  # tells `until_idle` when a partition is drained
    "partition.assignment.strategy": "cooperative-sticky",  # a joining member moves only what
    # it takes
    "fetch.max.bytes": 16 * 1024 * 1024,
    "max.partition.fetch.bytes": 2 * 1024 * 1024,
    "queued.max.messages.kbytes": 16 * 1024,  # librdkafka's prefetch: part of the memory bound
    "fetch.queue.backoff.ms": 20,  # the default 1000 stalls a full prefetch queue for a second
}


@dataclass(frozen=True)
class FlushTriggers:
    """A batch is flushed at whichever comes first: this many messages, bytes, or seconds."""

    max_events: int = 50_000
    max_bytes: int = 24 * 1024 * 1024
    max_seconds: float = 0.8  # after the batch's first message: ~1 s from produce to commit

    def __post_init__(self) -> None:
        if self.max_events < 1 or self.max_bytes < 1 or not self.max_seconds > 0:
            raise ValueError("flush triggers must be positive")


@dataclass(frozen=True)
class IngestOptions:
    """How one ingester runs (the flags of `eventlake ingest`)."""

    until_idle: bool = False
    triggers: FlushTriggers = field(default_factory=FlushTriggers)
    depth: int = 1  # decoded batches that may wait behind the one being written
    shutdown_timeout_s: float = 30.0  # at stop, how long to keep retrying a failing lake
    revoke_wait_s: float = 10.0  # at revocation, how long to let batches in flight land
    metrics_host: str = "0.0.0.0"


def consumer_config(settings: Settings) -> dict[str, Any]:
    """Returns the ingester's consumer config: local defaults, then EVENTLAKE_KAFKA_CONFIG."""
    return cluster.client_config(settings, {**CONSUMER_DEFAULTS, "group.id": settings.group_id})


def incremental(config: dict[str, Any]) -> bool:
    """Returns True when partitions come and go incrementally (cooperative, KIP-848)."""
    return (
        "cooperative" in str(config.get("partition.assignment.strategy", ""))
        or str(config.get("group.protocol", "")) == "consumer"
    )
