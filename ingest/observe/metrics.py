"""The ingester's Prometheus metrics, served on `--metrics-port` (EVENTLAKE_METRICS_PORT).

Each ingester has its own registry (several can run in one process, as in the tests). The
names are listed, with what to alert on, in docs/operations.md.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from eventlake.catalog import BRONZE_DEAD_LETTERS, BRONZE_EVENTS
from eventlake.errors import EventlakeError
from ingest.kafka.cluster import TopicPartitionKey
from ingest.write.bronze import Committed

log = logging.getLogger(__name__)

_SECONDS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0)
_SIZES = (1, 10, 100, 1_000, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000)


class IngestMetrics:
    """Counters, gauges and histograms of one ingester, in their own registry."""

    def __init__(self) -> None:
        self._server: tuple[Any, Any] | None = None
        r = self.registry = CollectorRegistry()
        self.consumed = Counter(
            "eventlake_ingest_messages_consumed", "Messages read from Kafka", ["topic"], registry=r
        )
        self.events = Counter(
            "eventlake_ingest_events", "Events committed to bronze/events", ["topic"], registry=r
        )
        self.dead_letters = Counter(
            "eventlake_ingest_dead_letters",
            "Rejected messages committed to bronze/dead_letters, by rejection code",
            ["topic", "code"],
            registry=r,
        )
        self.bytes = Counter(
            "eventlake_ingest_bytes", "Message bytes committed to bronze", registry=r
        )
        self.batches = Counter("eventlake_ingest_batches", "Batches committed", registry=r)
        self.slow_path = Counter(
            "eventlake_ingest_slow_path_messages",
            "Messages the fast path left to envelope.parse (rejections, unusual events)",
            registry=r,
        )
        self.batch_latency = Histogram(
            "eventlake_ingest_batch_latency_seconds",
            "From a batch's first message read to its commit in bronze",
            buckets=_SECONDS,
            registry=r,
        )
        self.produce_to_commit = Histogram(
            "eventlake_ingest_produce_to_commit_seconds",
            "From the Kafka timestamp of a batch's oldest message to its commit in bronze",
            buckets=_SECONDS,
            registry=r,
        )
        self.commit_duration = Histogram(
            "eventlake_ingest_commit_duration_seconds",
            "Delta commits of one batch (dead letters and events)",
            buckets=_SECONDS,
            registry=r,
        )
        self.decode_duration = Histogram(
            "eventlake_ingest_decode_duration_seconds",
            "Decoding and validating one batch",
            buckets=_SECONDS,
            registry=r,
        )
        self.batch_size = Histogram(
            "eventlake_ingest_batch_messages", "Messages per batch", buckets=_SIZES, registry=r
        )
        self.lag = Gauge(
            "eventlake_ingest_consumer_lag",
            "Messages in Kafka not yet committed to bronze",
            ["topic", "partition"],
            registry=r,
        )
        self.committed_offset = Gauge(
            "eventlake_ingest_committed_offset",
            "Last offset of record in bronze/events (its Delta txn version)",
            ["topic", "partition"],
            registry=r,
        )
        self.delta_version = Gauge(
            "eventlake_ingest_delta_version", "Last Delta version written", ["table"], registry=r
        )
        self.retries = Counter(
            "eventlake_ingest_write_retries",
            "Bronze commit attempts retried: lake errors (with backoff) and concurrent commits",
            ["reason"],
            registry=r,
        )
        self.fenced = Counter(
            "eventlake_ingest_fenced",
            "Batches of a partition another ingester had written meanwhile",
            ["topic", "partition"],
            registry=r,
        )
        self.paused = Gauge(
            "eventlake_ingest_paused", "1 while consumption is paused (backpressure)", registry=r
        )
        self.lake_failing = Gauge(
            "eventlake_ingest_lake_failing",
            "1 while bronze commits fail and are retried",
            registry=r,
        )
        self.assigned = Gauge(
            "eventlake_ingest_assigned_partitions",
            "Partitions assigned to this ingester",
            registry=r,
        )
        self.rebalances = Counter(
            "eventlake_ingest_rebalances",
            "Partitions assigned, revoked or lost",
            ["kind"],
            registry=r,
        )

    def serve(self, port: int, host: str = "0.0.0.0") -> int:
        """Starts the /metrics endpoint in a daemon thread; returns the port it listens on."""
        try:
            server, _ = self._server = start_http_server(port, addr=host, registry=self.registry)
        except OSError as err:
            raise EventlakeError(f"cannot serve metrics on {host}:{port}: {err.strerror}") from err
        actual = int(server.server_port)
        log.info("metrics on http://%s:%d/metrics", host, actual)
        return actual

    def close(self) -> None:
        """Stops the /metrics endpoint, if it was started."""
        if self._server is not None:
            self._server[0].shutdown()
            self._server[0].server_close()
            self._server = None

    def committed(self, done: Committed) -> None:
        """Records one committed batch."""
        batch = done.batch
        for topic, n in done.events_by_topic.items():
            self.events.labels(topic).inc(n)
        for (topic, code), n in done.dead_letters_by_code.items():
            self.dead_letters.labels(topic, code).inc(n)
        if done.oldest_kafka_us is not None:
            self.produce_to_commit.observe(max(0.0, time.time() - done.oldest_kafka_us / 1e6))
        self.bytes.inc(batch.decoded.bytes)
        self.batches.inc()
        self.slow_path.inc(batch.decoded.slow)
        self.batch_size.observe(batch.messages)
        self.decode_duration.observe(batch.decode_ms / 1000)
        self.commit_duration.observe(done.write_ms / 1000)
        for (topic, partition), last in done.of_record.items():
            self.committed_offset.labels(topic, str(partition)).set(last)
        for topic, partition in done.fenced:
            self.fenced.labels(topic, str(partition)).inc()
        if done.events_version is not None:
            self.delta_version.labels(BRONZE_EVENTS.name).set(done.events_version)
        if done.dead_letters_version is not None:
            self.delta_version.labels(BRONZE_DEAD_LETTERS.name).set(done.dead_letters_version)

    def forget(self, keys: list[TopicPartitionKey]) -> None:
        """Drops the per-partition series of partitions this ingester no longer owns."""
        for topic, partition in keys:
            for gauge in (self.lag, self.committed_offset):
                with contextlib.suppress(KeyError):  # never set
                    gauge.remove(topic, str(partition))
