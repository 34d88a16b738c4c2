"""The ingester: Kafka to bronze in micro-batches, exactly once, bad messages to dead letters.

Where a partition resumes is read from the Delta log (txn versions, see `ingest.offsets`), never
from Kafka's committed offsets, which are written only after the Delta commit so lag tools work.
One thread: the rebalance callbacks run inside `consume()`, between batches.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)

from eventlake.catalog import BRONZE_DEAD_LETTERS, BRONZE_EVENTS
from eventlake.errors import OffsetsAhead
from eventlake.settings import Settings
from ingest import kafka, offsets, writer
from ingest.kafka import TopicPartitionKey

log = logging.getLogger(__name__)

CONSUMER_DEFAULTS = {
    "enable.auto.commit": False,
    "auto.offset.reset": "earliest",
    "session.timeout.ms": 6000,  # the group joins in about half of this (FIELD-NOTES)
    "heartbeat.interval.ms": 1000,
    "fetch.wait.max.ms": 50,  # a fetch is not woken by new data: this bounds latency
    "enable.partition.eof": True,  # tells `until_idle` when a partition is drained
}
_POLL_S = 0.1


@dataclass
class IngestStats:
    """What one run of the ingester committed to bronze."""

    batches: int = 0
    events: int = 0
    dead_letters: int = 0
    skipped: int = 0  # messages at offsets bronze already held (re-delivered)
    bytes: int = 0
    events_version: int | None = None
    seconds: float = 0.0
    last_offsets: dict[TopicPartitionKey, int] = field(default_factory=dict)

    @property
    def messages_per_second(self) -> float:
        """Messages (events and dead letters) committed per second of wall time."""
        return (self.events + self.dead_letters) / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        """Returns one line for a person: what was committed, how fast."""
        return (
            f"{self.batches} batches, {self.events} events, {self.dead_letters} dead letters, "
            f"{self.skipped} skipped in {self.seconds:.1f} s "
            f"({self.messages_per_second:,.0f} messages/s), {BRONZE_EVENTS.name} version "
            f"{'-' if self.events_version is None else self.events_version}"
        )


def consumer_config(settings: Settings) -> dict[str, Any]:
    """Returns the ingester's consumer config: local defaults, then EVENTLAKE_KAFKA_CONFIG."""
    return kafka.client_config(settings, {**CONSUMER_DEFAULTS, "group.id": settings.group_id})


def ingest(
    settings: Settings,
    *,
    until_idle: bool = False,
    stop_event: threading.Event | None = None,
    batch_max_events: int = 50_000,
    batch_max_seconds: float = 1.0,
) -> IngestStats:
    """Returns the stats of a run: consumes `settings.topics` into bronze until stopped.

    Args:
        until_idle: stop once everything that was in the topics at start is committed.
        stop_event: set it to stop; the current batch is committed first.
        batch_max_events: a batch is committed when it holds this many messages...
        batch_max_seconds: ...or this many seconds after its first message, or when idle.

    Raises:
        BrokerUnavailable: the broker is unreachable, a topic is missing, or consuming fails.
        OffsetsAhead: bronze holds offsets the topic does not have (it was recreated).
        LakeError: a Delta write failed (nothing is committed to Kafka past it).
    """
    if batch_max_events < 1 or batch_max_seconds <= 0:
        raise ValueError("batch_max_events must be >= 1 and batch_max_seconds > 0")
    topics = kafka.require_topics(settings, settings.topics)
    # until idle: drain up to the ends the topics have now (true ends, see kafka.end_offsets)
    targets = kafka.end_offsets(settings, kafka.partitions_of(topics)) if until_idle else None
    log.info(
        "ingesting %s from %s into %s (group %s)%s",
        ",".join(topics), settings.kafka_bootstrap, settings.lake_root, settings.group_id,
        ", until idle" if until_idle else "",
    )  # fmt: skip
    log.debug("settings: %s", settings.redacted())
    run = _Ingester(settings, targets, stop_event or threading.Event(), batch_max_events,
                    batch_max_seconds)  # fmt: skip
    return run.run(list(topics))


class _Ingester:
    def __init__(
        self,
        settings: Settings,
        targets: dict[TopicPartitionKey, int] | None,
        stop_event: threading.Event,
        batch_max_events: int,
        batch_max_seconds: float,
    ) -> None:
        self.settings = settings
        self.until_idle = targets is not None
        self.targets = targets or {}
        self.stop_event = stop_event
        self.batch_max_events = batch_max_events
        self.batch_max_seconds = batch_max_seconds
        self.stats = IngestStats()
        self.consumer_id = f"{socket.gethostname()}:{os.getpid()}"
        self.events_txn: dict[TopicPartitionKey, int] = {}  # per assigned partition
        self.dead_txn: dict[TopicPartitionKey, int] = {}
        self.reached: dict[TopicPartitionKey, int] = {}  # offsets below are read or committed
        self.assigned = False
        self.batch: list[Message] = []
        self.batch_started = 0.0
        config = consumer_config(settings)
        # cooperative and KIP-848 rebalancing hand out partitions incrementally
        self.incremental = (
            "cooperative" in str(config.get("partition.assignment.strategy", ""))
            or str(config.get("group.protocol", "")) == "consumer"
        )
        self.consumer = Consumer(config)

    def run(self, topics: list[str]) -> IngestStats:
        started = time.monotonic()
        try:
            self.consumer.subscribe(
                topics,
                on_assign=self._on_assign,
                on_revoke=self._on_revoke,
                on_lost=self._on_revoke,
            )
            self._loop()
            self._commit_kafka(asynchronous=False)
        finally:
            self.stats.seconds = time.monotonic() - started
            self.consumer.close()
        log.info("ingest stopped: %s", self.stats.summary())
        return self.stats

    def _loop(self) -> None:
        while True:
            stopping = self.stop_event.is_set()
            idle = True if stopping else self._poll()
            if self.batch and (stopping or idle or self._batch_full()):
                self._commit_batch()
            if stopping or (self.until_idle and not self.batch and self._drained()):
                return

    def _batch_full(self) -> bool:
        return (
            len(self.batch) >= self.batch_max_events
            or time.monotonic() - self.batch_started >= self.batch_max_seconds
        )

    def _poll(self) -> bool:
        """Returns True when the poll brought no new message (the consumer is idle)."""
        timeout = _POLL_S
        if self.batch:
            remaining = self.batch_started + self.batch_max_seconds - time.monotonic()
            timeout = max(0.0, min(_POLL_S, remaining))
        idle = True
        for msg in self.consumer.consume(self.batch_max_events - len(self.batch), timeout):
            err = msg.error()
            if err is not None:
                self._on_error(err, msg)
                continue
            topic, partition, offset = kafka.position(msg)
            key = (topic, partition)
            if key not in self.events_txn:
                continue  # a partition revoked since this message was fetched
            if offset <= self.events_txn[key]:
                self.stats.skipped += 1  # re-delivered: bronze has it already
                continue
            if not self.batch:
                self.batch_started = time.monotonic()
            self.batch.append(msg)
            self.reached[key] = offset + 1
            idle = False
        return idle

    def _on_error(self, err: KafkaError, msg: Message) -> None:
        key = (msg.topic(), msg.partition())
        if err.code() == KafkaError._PARTITION_EOF:
            if key in self.reached:  # the end of a partition is where the next message goes
                self.reached[key] = max(self.reached[key], msg.offset() or 0)
            return
        where = f"{key[0]}/{key[1]}" if key[0] else f"Kafka at {self.settings.kafka_bootstrap}"
        kafka.raise_unless_transient(err, doing=f"consuming {where}")

    def _drained(self) -> bool:
        """Returns True when every assigned partition is read up to its end at start."""
        return self.assigned and all(
            self.reached[key] >= self.targets.get(key, 0) for key in self.events_txn
        )

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        keys = [(tp.topic, tp.partition) for tp in partitions]
        events_txn = offsets.txn_versions(self.settings, BRONZE_EVENTS, keys)
        dead_txn = offsets.txn_versions(self.settings, BRONZE_DEAD_LETTERS, keys)
        ends = kafka.end_offsets(self.settings, keys) if keys else {}
        for tp, key in zip(partitions, keys, strict=True):
            last = events_txn[key]
            if last + 1 > ends[key]:
                raise OffsetsAhead(
                    f"{key[0]}/{key[1]}: {BRONZE_EVENTS.name} holds offsets up to {last} but "
                    f"the topic ends at {ends[key]}; was the topic recreated (a restart of the "
                    "local broker loses its topics)? Ingest into a fresh lake or drop the old data"
                )
            # FIELD-NOTES: seek() fails here; set the offsets and assign instead
            tp.offset = last + 1 if last != offsets.NONE else OFFSET_BEGINNING
            self.reached[key] = last + 1
        self.events_txn.update(events_txn)
        self.dead_txn.update(dead_txn)
        if self.incremental:
            consumer.incremental_assign(partitions)
        else:
            consumer.assign(partitions)
        self.assigned = True
        resume = ", ".join(f"{t}/{p}@{events_txn[(t, p)] + 1}" for t, p in keys)
        log.info("assigned %d partitions, resuming at %s", len(keys), resume or "-")

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        gone = {(tp.topic, tp.partition) for tp in partitions}
        kept = [m for m in self.batch if (m.topic(), m.partition()) not in gone]
        if len(kept) < len(self.batch):
            # never committed, so safe to drop: the next owner resumes from the Delta txn
            log.info(
                "partitions revoked: dropping %d uncommitted messages", len(self.batch) - len(kept)
            )
            self.batch = kept
        for key in gone:
            self.events_txn.pop(key, None)
            self.dead_txn.pop(key, None)
            self.reached.pop(key, None)

    def _commit_batch(self) -> None:
        batch, self.batch = self.batch, []
        waited_us = int((time.monotonic() - self.batch_started) * 1e6)
        done = writer.commit_batch(
            self.settings,
            batch,
            dead_txn=self.dead_txn,
            started_at_us=time.time_ns() // 1000 - waited_us,
        )
        self.events_txn.update(done.last_offsets)
        self._commit_kafka(asynchronous=True)
        lag = self._lag()
        writer.write_batch_record(self.settings, done, consumer_id=self.consumer_id, lag=lag)
        stats = self.stats
        stats.batches += 1
        stats.events += done.events
        stats.dead_letters += done.dead_letters
        stats.bytes += done.bytes
        stats.events_version = done.events_version
        stats.last_offsets.update(done.last_offsets)
        log.info(
            "batch committed: %d events, %d dead letters, %s version %d "
            "(%d partitions, lag %s, decode %.0f ms, write %.0f ms)",
            done.events, done.dead_letters, BRONZE_EVENTS.name, done.events_version,
            len(done.ranges), lag, done.decode_ms, done.write_ms,
        )  # fmt: skip

    def _commit_kafka(self, *, asynchronous: bool) -> None:
        """Commits the Delta offsets to Kafka too: a courtesy to lag tools, never relied on."""
        positions = [
            TopicPartition(t, p, last + 1)
            for (t, p), last in self.events_txn.items()
            if last != offsets.NONE
        ]
        if not positions:
            return
        try:
            if asynchronous:
                self.consumer.commit(offsets=positions, asynchronous=True)
            else:
                self.consumer.commit(offsets=positions, asynchronous=False)
        except KafkaException as err:
            log.warning("committing offsets to Kafka failed (bronze is unaffected): %s", err)

    def _lag(self) -> int | None:
        """Returns the messages behind the broker's end over the assigned partitions."""
        total = 0
        for (topic, partition), reached in self.reached.items():
            _, high = self.consumer.get_watermark_offsets(
                TopicPartition(topic, partition), cached=True
            )
            if high < 0:
                return None  # not fetched yet: unknown
            total += max(0, high - reached)
        return total
