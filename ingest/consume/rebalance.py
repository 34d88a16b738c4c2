"""The consumer's rebalance callbacks: resume from the Delta log, hand partitions over cleanly.

They run inside `Consumer.consume()`, on the consumer thread. On assignment each partition
resumes right after its offset of record in bronze (never at Kafka's committed offset), after
checking that Kafka still has the offsets bronze recorded. On revocation the batches in flight
are let land first (bounded), so the next owner resumes right after them; whatever is left of
the revoked partitions is dropped, never committed by this ingester. Lost partitions (the
session expired: another member may already own them) are dropped at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from eventlake.errors import LakeError
from eventlake.settings import Settings
from ingest.consume.batch import Buffer
from ingest.kafka import cluster
from ingest.kafka.cluster import TopicPartitionKey
from ingest.observe.metrics import IngestMetrics
from ingest.write import offsets
from ingest.write.bronze import BronzeWriter

log = logging.getLogger(__name__)

ASSIGN_WAIT_S = 120.0  # how long an assignment waits for an unavailable lake before giving up


class Rebalancer:
    """The on_assign, on_revoke and on_lost callbacks of one ingester's consumer."""

    def __init__(
        self,
        settings: Settings,
        buffer: Buffer,
        of_record: dict[TopicPartitionKey, int],
        writer: BronzeWriter,
        metrics: IngestMetrics,
        *,
        targets: dict[TopicPartitionKey, int],
        incremental: bool,
        settle: Callable[[list[TopicPartitionKey]], None],
        paused: Callable[[], bool],
    ) -> None:
        self.settings, self.buffer, self.of_record = settings, buffer, of_record
        self.writer, self.metrics, self.targets = writer, metrics, targets
        self.incremental, self.settle, self.paused = incremental, settle, paused
        self.assigned_once = False

    def on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Positions each partition right after its offset of record in bronze/events.

        Raises:
            OffsetsAhead: Kafka does not have the offsets bronze recorded (recreated topic).
        """
        keys = [(tp.topic, tp.partition) for tp in partitions]
        if keys:
            ends = cluster.end_offsets(self.settings, keys)
            ids = cluster.topic_ids(self.settings, {topic for topic, _ in keys})
            positions = self._resume_positions(keys, ends, ids)
            for topic, topic_id in ids.items():
                if topic_id is not None:
                    self.writer.topic_fingerprints[topic] = offsets.topic_fingerprint(topic_id)
            for tp, key in zip(partitions, keys, strict=True):
                last = positions[key]
                # seek() fails here (docs/deploy-kafka.md); set the offsets and assign instead
                tp.offset = last + 1 if last != offsets.NONE else OFFSET_BEGINNING
                self.buffer.heads[key] = last
                self.of_record[key] = last
                self.targets.setdefault(key, ends[key])  # a topic new since the start
        if self.incremental:
            consumer.incremental_assign(partitions)
        else:
            consumer.assign(partitions)
        if self.paused() and partitions:
            consumer.pause(partitions)
        self.assigned_once = True
        self.metrics.rebalances.labels("assigned").inc(len(keys))
        self.metrics.assigned.set(len(self.of_record))
        resume = ", ".join(f"{t}/{p}@{self.of_record[(t, p)] + 1}" for t, p in keys)
        log.info("assigned %d partitions, resuming at %s", len(keys), resume or "-")

    def _resume_positions(
        self,
        keys: list[TopicPartitionKey],
        ends: dict[TopicPartitionKey, int],
        ids: dict[str, str | None],
    ) -> dict[TopicPartitionKey, int]:
        """Returns the offsets of record, waiting (with backoff) while the lake is unavailable:
        the partitions cannot be read before it is known where they resume."""
        delay, deadline = 0.2, time.monotonic() + ASSIGN_WAIT_S
        while True:
            try:
                return offsets.resume_positions(self.settings, keys, ends=ends, topic_ids=ids)
            except LakeError as err:  # OffsetsAhead is no LakeError: it is not retried
                if time.monotonic() + delay > deadline:
                    raise
                log.warning("cannot read the offsets of record, retrying in %.1f s: %s", delay, err)
                time.sleep(delay)
                delay = min(delay * 2, 10.0)

    def on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Lets the batches in flight land, then drops what is left of the partitions."""
        keys = [(tp.topic, tp.partition) for tp in partitions]
        self.settle(keys)
        self._forget(keys, "revoked")
        self._unassign(consumer, partitions)

    def on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Drops the partitions at once: another member may own them already."""
        self._forget([(tp.topic, tp.partition) for tp in partitions], "lost")
        self._unassign(consumer, partitions)

    def _unassign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Gives the partitions up explicitly. Left to the client, it first asks librdkafka for
        the rebalance protocol, which can block for good in the revocation close() triggers,
        with the GIL held (docs/deploy-kafka.md, "What the client code relies on")."""
        if self.incremental:
            consumer.incremental_unassign(partitions)
        else:
            consumer.unassign()

    def _forget(self, keys: list[TopicPartitionKey], kind: str) -> None:
        self.buffer.forget(keys)
        for key in keys:
            self.of_record.pop(key, None)
        self.metrics.forget(keys)
        self.metrics.rebalances.labels(kind).inc(len(keys))
        self.metrics.assigned.set(len(self.of_record))
        log.info("%d partitions %s (what is left of them in the batch is dropped)", len(keys), kind)
