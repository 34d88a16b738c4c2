"""The consumer thread: read, seal, decode, hand over; apply what the writer thread reports.

The loop reads messages into the `Buffer`; a full batch (`FlushTriggers`) is checked against
the partitions' chain (`batch.chain`), decoded, and handed to the writer thread
(`ingest.write.writer_thread`), which commits it while the next batch is read. When the
writer has no room, the partitions are paused (backpressure). Outcomes come back here, where
the Kafka consumer lives: positions of record, Kafka offset commits (a courtesy to lag tools),
fences, stats.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import threading
import time

from confluent_kafka import KafkaError, KafkaException, Message, TopicPartition

from eventlake.errors import LakeError
from eventlake.settings import Settings
from ingest.consume.batch import Buffer, chain
from ingest.consume.options import IngestOptions
from ingest.consume.rebalance import Rebalancer
from ingest.consume.subscription import Subscription
from ingest.consume.until_idle import UntilIdle
from ingest.decode.rows import decode, positions
from ingest.kafka import cluster
from ingest.kafka.cluster import TopicPartitionKey
from ingest.observe import batch_traces, lag
from ingest.observe.metrics import IngestMetrics
from ingest.observe.stats import IngestStats, log_committed
from ingest.write import field_sealing, offsets
from ingest.write.batch_log import BatchLog
from ingest.write.bronze import BronzeWriter, Committed, SealedBatch
from ingest.write.writer_thread import WriteFailed, WriterThread

log = logging.getLogger(__name__)

_POLL_S = 0.1
_CONSUME_MAX = 10_000


class ConsumerLoop:
    """One ingester: its consumer, buffer, writer thread, metrics and stats."""

    def __init__(
        self,
        settings: Settings,
        options: IngestOptions,
        targets: dict[TopicPartitionKey, int] | None,
        stop_event: threading.Event,
        subscription: Subscription,
    ) -> None:
        """`subscription`: the ingester's consumer, already subscribed (joining the group)."""
        self.settings, self.options, self.stop_event = settings, options, stop_event
        self.targets = targets or {}
        self.stats = IngestStats()
        self.metrics = IngestMetrics()
        self.consumer, self.subscription = subscription.consumer, subscription
        self.writer: BronzeWriter = field_sealing.bronze_writer(settings)  # seals sensitive fields
        self.buffer = Buffer(options.triggers)
        self.of_record: dict[TopicPartitionKey, int] = {}  # of each assigned partition
        self.paused = False
        self.seq = 0
        self.failures: list[WriteFailed] = []
        self.closing = False
        self.until_idle = UntilIdle(settings, self.targets)
        self.rebalancer = Rebalancer(
            settings,
            self.buffer,
            self.of_record,
            self.writer,
            self.metrics,
            targets=self.targets,
            incremental=subscription.incremental,
            settle=self._settle,
            paused=lambda: self.paused,
        )
        self._gauges_at = 0.0
        if settings.metrics_port is not None:
            self.stats.metrics_port = self.metrics.serve(
                settings.metrics_port, options.metrics_host
            )
        consumer_id = f"{socket.gethostname()}:{os.getpid()}"
        batch_log = BatchLog(settings, consumer_id=consumer_id)
        self.pipeline = WriterThread(self.writer, batch_log, self.metrics, depth=options.depth)
        subscription.rebalancer = self.rebalancer  # before the first consume()

    def run(self, started: float) -> IngestStats:
        """Returns the stats of the run, consuming until stopped (or idle); `started` is the
        monotonic time the ingester started (its subscription included)."""
        try:
            self._loop()
            self._shutdown()
        finally:
            self.stats.seconds = time.monotonic() - started
            self.closing = True  # the revocation that close() triggers has nothing to settle
            self.pipeline.give_up()  # no-op after a clean shutdown
            self.pipeline.close(timeout=5.0)
            self.subscription.leave()
            self.metrics.close()
        log.info("ingest stopped: %s", self.stats.summary())
        return self.stats

    # --- the loop -----------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self.stop_event.is_set():
            self.subscription.follow()
            self.collect()
            self._backpressure()
            room = self.options.triggers.max_events - len(self.buffer)
            timeout = min(_POLL_S, self.buffer.seconds_left())
            messages = self.consumer.consume(max(1, min(_CONSUME_MAX, room)), timeout)
            self.stats.consumed += self.buffer.extend(messages, self._on_error)
            drain = self.options.until_idle and (not messages or self._read_to_targets())
            if len(self.buffer) and (drain or self.buffer.due()) and self.pipeline.room():
                self.seal()
            if self.options.until_idle and self._drained():
                return
            self._gauges()

    def _backpressure(self) -> None:
        """Pauses the partitions while the writer has no room for the next batch."""
        full = self.buffer.due() is not None and not self.pipeline.room()
        if full and not self.paused:
            log.info(
                "pausing consumption: bronze commits are behind (%d batches in flight)",
                self.pipeline.pending,
            )
        if full != self.paused or full:
            assignment = self.consumer.assignment()
            if assignment:
                (self.consumer.pause if full else self.consumer.resume)(assignment)
            if full != self.paused:
                self.paused = full
                self.metrics.paused.set(1 if full else 0)
                if not full:
                    log.info("resuming consumption")

    def seal(self) -> None:
        """Decodes the buffered messages and hands them to the writer thread."""
        started, started_us = self.buffer.started, self.buffer.started_wall_us
        messages = self.buffer.take()
        t0 = time.perf_counter()
        where = positions(messages)
        kept, slices = chain(where, self.buffer.heads)
        if kept is not None:  # re-delivered, or of partitions no longer assigned
            self.stats.skipped += len(messages) - int(kept.sum())
            messages = [messages[i] for i in kept.arg_true().to_list()]
            where = positions(messages)
        self.buffer.heads.update({key: piece.last for key, piece in slices.items()})
        if not messages:
            return
        for topic, n in where.group_by("kafka_topic").len().iter_rows():
            self.metrics.consumed.labels(topic).inc(n)
        now_us = time.time_ns() // 1000
        decoded = decode(
            messages,
            now_ms=now_us // 1000,
            kafka=where,
            max_bytes=self.settings.max_message_bytes,
            ingested_at_us=now_us,
        )
        traced = batch_traces.carried(messages)
        if traced:
            events = batch_traces.with_trace_context(decoded.events, traced)
            decoded = dataclasses.replace(decoded, events=events)
        self.seq += 1
        self.pipeline.submit(
            SealedBatch(
                seq=self.seq,
                decoded=decoded,
                slices=slices,
                messages=len(messages),
                started_at_us=started_us,
                first_seen=started,
                decode_ms=(time.perf_counter() - t0) * 1000,
                lag=lag.behind(self.consumer, self.buffer.heads),
                traced=traced,
                sealed_at_ns=time.time_ns(),
            )
        )

    def collect(self, *, in_rebalance: bool = False) -> None:
        """Applies what the writer thread reported: positions, Kafka commits, fences, stats.

        Raises:
            the error of a batch the writer could not commit (it stops the ingester).
        """
        for outcome in self.pipeline.results():
            if isinstance(outcome, WriteFailed):
                self.failures.append(outcome)
                if not self.stop_event.is_set() or not isinstance(outcome.error, LakeError):
                    raise outcome.error
                continue
            self._committed(outcome, in_rebalance=in_rebalance)

    def _committed(self, done: Committed, *, in_rebalance: bool) -> None:
        self.stats.add(done)
        self.metrics.committed(done)
        self.metrics.batch_latency.observe(time.monotonic() - done.batch.first_seen)
        positions = []
        for key, last in done.of_record.items():
            if key in self.of_record:
                self.of_record[key] = max(self.of_record[key], last)
                positions.append(TopicPartition(key[0], key[1], self.of_record[key] + 1))
        for key, of_record in done.fenced.items():
            self._fence(key, of_record, seek=not in_rebalance)
        if positions:
            self._commit_kafka(positions, asynchronous=True)
        batch_traces.record(done)
        log_committed(done)

    def _fence(self, key: TopicPartitionKey, of_record: int, *, seek: bool) -> None:
        """Another ingester wrote `key` up to `of_record`: drop what it covers, skip ahead."""
        self.stats.fenced += 1
        log.warning(
            "%s/%s was written up to offset %d by another ingester: fenced",
            key[0],
            key[1],
            of_record,
        )
        if key not in self.of_record:
            return  # not ours any more
        self.of_record[key] = max(self.of_record[key], of_record)
        if self.buffer.fence(key, of_record) and seek:
            try:
                self.consumer.seek(TopicPartition(key[0], key[1], of_record + 1))
            except KafkaException as err:  # the head filter skips the old messages anyway
                log.debug("seek of %s/%s failed: %s", key[0], key[1], err)

    def _settle(self, keys: list[TopicPartitionKey]) -> None:
        """Lets what was read of `keys` land in bronze before they go to another ingester."""
        if self.closing:
            return
        if len(self.buffer) and self.pipeline.room():
            self.seal()
        if not self.pipeline.wait(self.options.revoke_wait_s):
            log.warning("batches still in flight at revocation: the fence keeps them exact")
        self.collect(in_rebalance=True)
        positions = [
            TopicPartition(t, p, self.of_record[(t, p)] + 1)
            for t, p in keys
            if self.of_record.get((t, p), offsets.NONE) != offsets.NONE
        ]
        if positions:
            self._commit_kafka(positions, asynchronous=False)

    def _commit_kafka(self, positions: list[TopicPartition], *, asynchronous: bool) -> None:
        """Commits positions to Kafka too: a courtesy to lag tools, never relied on."""
        try:
            if asynchronous:
                self.consumer.commit(offsets=positions, asynchronous=True)
            else:
                self.consumer.commit(offsets=positions, asynchronous=False)
        except KafkaException as err:
            log.warning("committing offsets to Kafka failed (bronze is unaffected): %s", err)

    def _on_error(self, msg: Message) -> None:
        err = msg.error()
        if err is None:
            return
        if err.code() == KafkaError._PARTITION_EOF:  # the offset is the partition's end
            key = (str(msg.topic()), int(msg.partition() or 0))
            if key in self.buffer.heads:
                self.buffer.ends[key] = max(self.buffer.ends.get(key, 0), msg.offset() or 0)
            return
        topic = msg.topic()
        where = (
            f"{topic}/{msg.partition()}" if topic else f"Kafka at {self.settings.kafka_bootstrap}"
        )
        cluster.raise_unless_transient(err, doing=f"consuming {where}")

    # --- until idle, lag ----------------------------------------------------------------------

    def _read_to_targets(self) -> bool:
        return self.until_idle.read_all(self.buffer.heads, self.buffer.ends)

    def _drained(self) -> bool:
        """Returns True when bronze holds every partition up to its end at start."""
        idle = not len(self.buffer) and self.pipeline.pending == 0
        return self.rebalancer.assigned_once and idle and self.until_idle.done(self.of_record)

    def _gauges(self, *, now: bool = False) -> None:
        if now or time.monotonic() - self._gauges_at >= lag.GAUGES_EVERY_S:
            self._gauges_at = time.monotonic()
            lag.publish(self.consumer, self.of_record, self.metrics)

    # --- stopping -----------------------------------------------------------------------------

    def _shutdown(self) -> None:
        """Commits what was read, waits for the writer, commits the positions to Kafka.

        Raises:
            LakeError: the lake refused the last batches until the shutdown timeout.
        """
        deadline = time.monotonic() + self.options.shutdown_timeout_s
        while len(self.buffer) and not self.pipeline.room() and time.monotonic() < deadline:
            self.pipeline.wait(0.1)
            self.collect()
        if len(self.buffer) and self.pipeline.room():
            self.seal()
        if not self.pipeline.wait(max(0.0, deadline - time.monotonic())):
            self.pipeline.give_up()
            self.pipeline.wait(5.0)
        self.collect()
        self._gauges(now=True)
        positions = [
            TopicPartition(t, p, last + 1)
            for (t, p), last in self.of_record.items()
            if last != offsets.NONE
        ]
        if positions:
            self._commit_kafka(positions, asynchronous=False)
        lost = sum(f.batch.messages for f in self.failures if f.batch) + len(self.buffer)
        if lost:
            first = next((f.error for f in self.failures), None)
            raise LakeError(
                f"stopped with {lost} messages not committed to bronze (they will be read "
                f"again at the next start): {first or 'the lake did not accept them in time'}"
            )
