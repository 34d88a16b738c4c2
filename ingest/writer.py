"""The bronze writes of one micro-batch, in the order that makes them exactly once.

1. `write_dead_letters`: the rejected messages not yet in bronze/dead_letters, with a txn per
   partition that had any. Written first: after a crash before step 2 the batch is re-read,
   and the dead-letter txn versions tell which of its dead letters are already in.
2. `write_events`: every accepted message, ONE commit whose txn actions move EVERY partition of
   the batch to its last offset (even a partition whose messages were all dead letters), with
   the event dates touched in the commit metadata.
3. `write_batch_record`: one row of bronze/ingest_batches (metrics; lost if the process dies
   between 2 and 3, which costs nothing but a row of metrics).

`commit_batch` runs 1 and 2 for a batch of Kafka messages.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import polars as pl
from confluent_kafka import Message

from eventlake import lake
from eventlake.catalog import BRONZE_DEAD_LETTERS, BRONZE_EVENTS, BRONZE_INGEST_BATCHES
from eventlake.settings import Settings
from ingest import kafka
from ingest.decode import decode
from ingest.kafka import TopicPartitionKey
from ingest.offsets import NONE, app_id

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def new_dead_letters(
    frame: pl.DataFrame, committed: Mapping[TopicPartitionKey, int]
) -> pl.DataFrame:
    """Returns the rows of `frame` at offsets beyond what the table holds per partition."""
    keep = pl.lit(True)
    for (topic, partition), last in committed.items():
        if last != NONE:
            in_table = (
                (pl.col("kafka_topic") == topic)
                & (pl.col("kafka_partition") == partition)
                & (pl.col("kafka_offset") <= last)
            )
            keep = keep & ~in_table
    return frame.filter(keep)


def write_dead_letters(
    settings: Settings,
    frame: pl.DataFrame,
    *,
    last_offsets: Mapping[TopicPartitionKey, int],
    committed: MutableMapping[TopicPartitionKey, int],
) -> tuple[int, int | None]:
    """Returns (rows written, table version or None): appends the dead letters not yet in.

    Args:
        frame: the batch's dead letters (BRONZE_DEAD_LETTERS schema).
        last_offsets: the last offset of the batch per partition: the txn version recorded for
            each partition that has new dead letters.
        committed: the table's txn version per partition; updated on success.
    """
    fresh = new_dead_letters(frame, {k: committed.get(k, NONE) for k in last_offsets})
    if fresh.is_empty():
        return 0, None
    keys = fresh.select("kafka_topic", "kafka_partition").unique().rows()
    txns = {app_id(topic, partition): last_offsets[(topic, partition)] for topic, partition in keys}
    version = lake.append(settings, BRONZE_DEAD_LETTERS, fresh, offsets=txns)
    for key in keys:
        committed[key] = last_offsets[key]
    return fresh.height, version


def write_events(
    settings: Settings, frame: pl.DataFrame, *, last_offsets: Mapping[TopicPartitionKey, int]
) -> int:
    """Returns the new bronze/events version: `frame` appended with a txn per batch partition.

    The commit metadata `lake.EVENT_DATES_KEY` lists the event dates of `frame`, sorted and
    comma-separated (absent when the frame is empty).
    """
    txns = {app_id(topic, partition): last for (topic, partition), last in last_offsets.items()}
    metadata = {}
    if frame.height:
        dates = frame.get_column("event_date").unique().sort()
        metadata[lake.EVENT_DATES_KEY] = ",".join(d.isoformat() for d in dates)
    return lake.append(settings, BRONZE_EVENTS, frame, offsets=txns, metadata=metadata)


@dataclass(frozen=True)
class CommittedBatch:
    """What one micro-batch added to bronze, and how long it took."""

    events: int
    dead_letters: int  # rows written (dead letters already in the table are not counted)
    bytes: int
    events_version: int
    ranges: dict[TopicPartitionKey, tuple[int, int]]  # first and last offset per partition
    started_at_us: int
    decode_ms: float
    write_ms: float

    @property
    def last_offsets(self) -> dict[TopicPartitionKey, int]:
        """The last offset of the batch per partition: the txn versions it committed."""
        return {key: last for key, (_, last) in self.ranges.items()}


def commit_batch(
    settings: Settings,
    messages: Sequence[Message],
    *,
    dead_txn: MutableMapping[TopicPartitionKey, int],
    started_at_us: int,
) -> CommittedBatch:
    """Returns what was committed: `messages` decoded, then dead letters, then events written.

    Args:
        messages: the batch, offsets increasing per partition, none already in bronze/events.
        dead_txn: bronze/dead_letters' txn version per partition; updated.
        started_at_us: when the batch's first message arrived (for the batch record).
    """
    t0 = time.perf_counter()
    now_us = time.time_ns() // 1000
    decoded = decode(
        messages, now_ms=now_us // 1000, max_bytes=settings.max_message_bytes, ingested_at_us=now_us
    )
    ranges: dict[TopicPartitionKey, tuple[int, int]] = {}
    for msg in messages:
        topic, partition, offset = kafka.position(msg)
        key = (topic, partition)
        ranges[key] = (ranges[key][0] if key in ranges else offset, offset)
    last = {key: bounds[1] for key, bounds in ranges.items()}
    t1 = time.perf_counter()
    dead, _ = write_dead_letters(
        settings, decoded.dead_letters, last_offsets=last, committed=dead_txn
    )
    version = write_events(settings, decoded.events, last_offsets=last)
    t2 = time.perf_counter()
    return CommittedBatch(
        events=decoded.events.height,
        dead_letters=dead,
        bytes=decoded.bytes,
        events_version=version,
        ranges=ranges,
        started_at_us=started_at_us,
        decode_ms=(t1 - t0) * 1000,
        write_ms=(t2 - t1) * 1000,
    )


def write_batch_record(
    settings: Settings, batch: CommittedBatch, *, consumer_id: str, lag: int | None
) -> int:
    """Returns the bronze/ingest_batches version after appending the record of `batch`."""
    offset_ranges = [
        {"topic": topic, "partition": partition, "first": first, "last": last}
        for (topic, partition), (first, last) in sorted(batch.ranges.items())
    ]
    row = {
        "batch_id": uuid.uuid4().hex,
        "consumer_id": consumer_id,
        "started_at": _EPOCH + timedelta(microseconds=batch.started_at_us),
        "committed_at": datetime.now(UTC),
        "events": batch.events,
        "dead_letters": batch.dead_letters,
        "bytes": batch.bytes,
        "offset_ranges": json.dumps(offset_ranges),
        "events_version": batch.events_version,
        "lag": lag,
        "decode_ms": batch.decode_ms,
        "write_ms": batch.write_ms,
    }
    frame = pl.DataFrame([row], schema=BRONZE_INGEST_BATCHES.schema)
    return lake.append(settings, BRONZE_INGEST_BATCHES, frame)
