"""Helpers of the ingest tests: produce raw messages, and check bronze against Kafka's offsets."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterable, Mapping

import polars as pl
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from eventlake import lake
from eventlake.catalog import BRONZE_DEAD_LETTERS, BRONZE_EVENTS
from eventlake.settings import Settings
from ingest.kafka import cluster
from ingest.kafka.cluster import TopicPartitionKey
from ingest.tools import broker
from ingest.write import offsets

OFFSET_COLUMNS = ["kafka_topic", "kafka_partition", "kafka_offset"]


def free_port() -> int:
    """Returns a TCP port nobody listens on (right now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def produce(
    settings: Settings,
    messages: Iterable[tuple[str, bytes | None, bytes | None]],
    *,
    partition: int | None = None,
) -> dict[TopicPartitionKey, list[int]]:
    """Returns the offsets each partition gave the (topic, key, value) messages, in order.

    Lingers so that the broker receives batches of several messages (the case where
    ListOffsets(latest) is wrong on this broker).
    """
    config = {"linger.ms": 20, "enable.idempotence": True, "message.max.bytes": 4_000_000}
    producer = Producer(cluster.client_config(settings, config))
    offsets: dict[TopicPartitionKey, list[int]] = {}
    errors: list[str] = []

    def delivered(err, msg) -> None:  # type: ignore[no-untyped-def]
        if err is not None:
            errors.append(err.str())
        else:
            offsets.setdefault((msg.topic(), msg.partition()), []).append(msg.offset())

    for topic, key, value in messages:
        extra = {} if partition is None else {"partition": partition}
        producer.produce(topic, value, key, on_delivery=delivered, **extra)
    assert producer.flush(30) == 0
    assert errors == []
    return offsets


def true_ends(settings: Settings) -> dict[TopicPartitionKey, int]:
    """Returns the end offset of every partition of the settings' topics."""
    topics = cluster.require_topics(settings, settings.topics)
    return cluster.end_offsets(settings, cluster.partitions_of(topics))


def recreate_topic(settings: Settings, topic: str) -> None:
    """Deletes `topic`, waits until the broker no longer lists it, and creates it again: a new
    incarnation of the topic, with a new topic id and offsets from 0."""
    admin = AdminClient(cluster.client_config(settings))
    admin.delete_topics([topic])[topic].result(timeout=10)
    deadline = time.monotonic() + 10
    while topic in cluster.list_topics(settings):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    broker.ensure_topics(settings, [topic])


def caught_up(settings: Settings) -> bool:
    """Returns True when bronze/events records every partition's offsets up to Kafka's end."""
    ends = true_ends(settings)
    done = offsets.txn_versions(settings, BRONZE_EVENTS, ends)
    return all(done[key] + 1 >= end for key, end in ends.items())


def bronze_offsets(settings: Settings) -> pl.DataFrame:
    """Returns (topic, partition, offset, table) of every row of bronze/events and dead letters."""
    return pl.concat(
        [
            lake.scan(settings, BRONZE_EVENTS)
            .select(OFFSET_COLUMNS)
            .with_columns(table=pl.lit("events"))
            .collect(),
            lake.scan(settings, BRONZE_DEAD_LETTERS)
            .select(OFFSET_COLUMNS)
            .with_columns(table=pl.lit("dead_letters"))
            .collect(),
        ]
    )


def assert_exactly_once(settings: Settings, ends: Mapping[TopicPartitionKey, int]) -> pl.DataFrame:
    """Asserts every offset below `ends` is in bronze exactly once; returns the offsets found."""
    found = bronze_offsets(settings)
    duplicated = found.filter(pl.struct(OFFSET_COLUMNS).is_duplicated())
    assert duplicated.height == 0, f"offsets written twice:\n{duplicated.sort(OFFSET_COLUMNS)}"
    expected = {(t, p, o) for (t, p), end in ends.items() for o in range(end)}
    got = set(found.select(OFFSET_COLUMNS).iter_rows())
    assert got - expected == set(), "offsets in bronze that Kafka does not have"
    missing = sorted(expected - got)
    assert missing == [], f"{len(missing)} offsets missing from bronze, first: {missing[:5]}"
    return found


def events_version(settings: Settings) -> int:
    """Returns the version of bronze/events (-1 while it does not exist; 0 is its creation)."""
    table = lake.open_table(settings, BRONZE_EVENTS)
    return -1 if table is None else table.version()


def wait_for_commit(
    settings: Settings, alive: Callable[[], bool], *, after: int = 0, timeout: float = 30.0
) -> int:
    """Returns the bronze/events version once one after `after` exists (the ingester alive)."""
    deadline = time.monotonic() + timeout
    while (version := events_version(settings)) <= after:
        assert time.monotonic() < deadline, "no commit in time"
        assert alive(), "the ingester is gone"
        time.sleep(0.05)
    return version
