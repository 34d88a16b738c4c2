"""The bronze commits of one micro-batch, fenced by the offsets of record in the Delta log.

Each attempt (`BronzeWriter.commit`):

1. Brings its cached handles of bronze/events and bronze/dead_letters up to date and reads each
   batch partition's offset of record (txn version). A partition whose offset of record is not
   the one its slice continues from was written by another ingester meanwhile: it is *fenced*,
   and only its rows above the recorded offset are kept (none when the other writer got
   further), so nothing is written twice and nothing is skipped.
2. `write_dead_letters`: the rejected messages above both tables' offsets of record, with a txn
   per partition that has any. Written first: after a crash before step 3 the batch is re-read,
   and this txn tells which of its dead letters are in already.
3. `write_events`: the accepted messages, ONE commit whose txn actions move EVERY kept partition
   to its last offset (even one whose messages were all dead letters), with the event dates
   touched in the commit metadata.

Both commits are made against the versions read in step 1: delta-rs refuses a commit when a
commit since then recorded a txn of the same app id (`lake.ConcurrentCommit`), so the check of
step 1 and the commit are atomic; the caller re-runs the attempt, which then sees the new
offsets of record.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import polars as pl

from eventlake import lake
from eventlake.catalog import BRONZE_DEAD_LETTERS, BRONZE_EVENTS
from eventlake.errors import LakeError
from eventlake.lake import DeltaTable
from eventlake.log_rules import offset_app_id, topic_app_id
from eventlake.settings import Settings
from ingest.consume.batch import Slice
from ingest.decode.rows import DecodedBatch
from ingest.kafka.cluster import TopicPartitionKey
from ingest.write.offsets import NONE, KnownTxns

# Data skipping: per-file min/max of these columns are kept in the log (event time above all)
STATS_COLUMNS = {
    BRONZE_EVENTS.name: "event_time,event_type,kafka_topic,kafka_partition,kafka_offset,"
    "ingested_at",
    BRONZE_DEAD_LETTERS.name: "kafka_topic,kafka_partition,kafka_offset,error_code,ingested_at",
}


class TableBehind(LakeError):
    """The Delta log records an offset below one this ingester read or wrote (reset, restored)."""


@dataclass(frozen=True)
class SealedBatch:
    """A decoded micro-batch on its way to bronze."""

    seq: int
    decoded: DecodedBatch
    slices: Mapping[TopicPartitionKey, Slice]
    messages: int
    started_at_us: int  # wall time of the first message
    first_seen: float  # monotonic time of the first message
    decode_ms: float
    lag: int | None  # messages behind the broker's end when the batch was sealed
    # With tracing on: the `traceparent` header of each traced message by (topic, partition,
    # offset), and when the batch was sealed (wall clock, ns); ingest/observe/batch_traces.py
    traced: Mapping[tuple[str, int, int], str] = field(default_factory=dict)
    sealed_at_ns: int = 0


@dataclass(frozen=True)
class Committed:
    """What one batch added to bronze."""

    batch: SealedBatch
    events: int
    dead_letters: int  # rows written (dead letters already in the table are not counted)
    events_version: int | None  # None: nothing of the batch was left to write
    dead_letters_version: int | None
    of_record: dict[TopicPartitionKey, int]  # the new offset of record of each kept partition
    fenced: dict[TopicPartitionKey, int] = field(default_factory=dict)  # moved by another writer
    events_by_topic: dict[str, int] = field(default_factory=dict)
    dead_letters_by_code: dict[tuple[str, str], int] = field(default_factory=dict)  # topic, code
    oldest_kafka_us: int | None = None  # the smallest Kafka timestamp among the rows written
    write_ms: float = 0.0
    attempts: int = 1


def write_dead_letters(table: DeltaTable, frame: pl.DataFrame, txns: Mapping[str, int]) -> int:
    """Returns the bronze/dead_letters version after appending `frame` with `txns`."""
    return lake.append_to(table, BRONZE_DEAD_LETTERS, frame, offsets=txns)


def event_dates_metadata(events: pl.DataFrame) -> dict[str, str]:
    """Returns the commit metadata naming the event dates of `events` (bronze/events rows): the
    `bronze_commits` sensor re-materializes exactly those days."""
    dates = events.get_column("event_date").unique().sort()
    return {lake.EVENT_DATES_KEY: ",".join(d.isoformat() for d in dates)}


def write_events(
    table: DeltaTable, frame: pl.DataFrame, txns: Mapping[str, int], metadata: Mapping[str, str]
) -> int:
    """Returns the bronze/events version after appending `frame` with `txns` and `metadata`."""
    return lake.append_to(table, BRONZE_EVENTS, frame, offsets=txns, metadata=metadata)


class BronzeWriter:
    """Commits batches to bronze/events and bronze/dead_letters through cached table handles."""

    def __init__(self, settings: Settings) -> None:
        self.tables: dict[str, DeltaTable] = {}
        for spec in (BRONZE_EVENTS, BRONZE_DEAD_LETTERS):
            properties = {"delta.dataSkippingStatsColumns": STATS_COLUMNS[spec.name]}
            table = lake.ensure_table(settings, spec, properties=properties)
            lake.ensure_properties(table, spec, properties)  # lakes made before this version
            self.tables[spec.name] = table
        self.topic_fingerprints: dict[str, int] = {}  # topic -> fingerprint of its Kafka id
        self.txns = {name: KnownTxns() for name in self.tables}

    def commit(self, batch: SealedBatch) -> Committed:
        """Returns what one attempt committed of `batch` (see the module docstring).

        Raises:
            lake.ConcurrentCommit: another writer committed one of its partitions meanwhile.
            TableBehind: the log went back behind the batch (the ingester must restart).
            LakeError: the lake failed (worth retrying).
        """
        started = time.perf_counter()
        events_table = lake.refresh(self.tables[BRONZE_EVENTS.name], BRONZE_EVENTS)
        dead_table = lake.refresh(self.tables[BRONZE_DEAD_LETTERS.name], BRONZE_DEAD_LETTERS)
        known_events, known_dead = (
            self.txns[BRONZE_EVENTS.name],
            self.txns[BRONZE_DEAD_LETTERS.name],
        )
        floors, fenced = self._floors(events_table, known_events, batch.slices)
        events = _above(batch.decoded.events, floors, batch.slices)
        dead_floors = {
            key: max(floor, _record(dead_table, known_dead, key)) for key, floor in floors.items()
        }
        dead = _above(batch.decoded.dead_letters, dead_floors, batch.slices)
        dead_version = None
        if dead.height:
            keys = dead.select("kafka_topic", "kafka_partition").unique().rows()
            txns = {offset_app_id(t, p): batch.slices[(t, p)].last for t, p in keys}
            before = dead_table.version()
            dead_version = write_dead_letters(dead_table, dead, txns)
            known_dead.committed(before, dead_version, txns)
        events_version = None
        if floors:
            txns = {offset_app_id(*key): batch.slices[key].last for key in floors}
            for topic in {topic for topic, _ in floors}:
                fingerprint = self.topic_fingerprints.get(topic)
                recorded = known_events.get(events_table, topic_app_id(topic))
                if fingerprint is not None and recorded is None:
                    txns[topic_app_id(topic)] = fingerprint
            metadata = event_dates_metadata(events) if events.height else {}
            before = events_table.version()
            events_version = write_events(events_table, events, txns, metadata)
            known_events.committed(before, events_version, txns)
        return Committed(
            batch=batch,
            events=events.height,
            dead_letters=dead.height,
            events_version=events_version,
            dead_letters_version=dead_version,
            of_record={key: batch.slices[key].last for key in floors},
            fenced=fenced,
            events_by_topic={t: n for (t,), n in _counts(events, "kafka_topic").items()},
            dead_letters_by_code={
                (t, c): n for (t, c), n in _counts(dead, "kafka_topic", "error_code").items()
            },
            oldest_kafka_us=_oldest(events, dead),
            write_ms=(time.perf_counter() - started) * 1000,
        )

    @staticmethod
    def _floors(
        table: DeltaTable, known: KnownTxns, slices: Mapping[TopicPartitionKey, Slice]
    ) -> tuple[dict[TopicPartitionKey, int], dict[TopicPartitionKey, int]]:
        """Returns (floor of each partition still to write, offset of record of each fenced one).

        A partition's rows above its floor are new; a partition whose offset of record reaches
        the end of its slice has nothing left to write and no floor.
        """
        floors, fenced = {}, {}
        for key, piece in slices.items():
            of_record = _record(table, known, key)
            if of_record < piece.prev:
                raise TableBehind(
                    f"{key[0]}/{key[1]}: {BRONZE_EVENTS.name} records offset {of_record}, below "
                    f"{piece.prev} which this ingester read or wrote: were the offsets reset or "
                    "the table restored while it ran? Restart the ingester"
                )
            if of_record != piece.prev:
                fenced[key] = of_record
            if of_record < piece.last:
                floors[key] = of_record
        return floors, fenced


def _counts(frame: pl.DataFrame, *by: str) -> dict[tuple[str, ...], int]:
    if frame.is_empty():
        return {}
    return {tuple(row[:-1]): int(row[-1]) for row in frame.group_by(list(by)).len().rows()}


def _oldest(*frames: pl.DataFrame) -> int | None:
    """Returns the smallest Kafka timestamp of the frames' rows, in epoch microseconds."""
    stamps = pl.concat([f.get_column("kafka_timestamp").dt.epoch("us") for f in frames])
    oldest = stamps.min()
    return None if oldest is None else int(oldest)  # type: ignore[arg-type]


def _record(table: DeltaTable, known: KnownTxns, key: TopicPartitionKey) -> int:
    version = known.get(table, offset_app_id(*key))
    return NONE if version is None else version


def _above(
    frame: pl.DataFrame,
    floors: Mapping[TopicPartitionKey, int],
    slices: Mapping[TopicPartitionKey, Slice],
) -> pl.DataFrame:
    """Returns the rows of `frame` whose partition has a floor and whose offset is above it."""
    if len(floors) == len(slices) and all(floors[k] == s.prev for k, s in slices.items()):
        return frame  # the common case: every row is above its slice's start by construction
    bounds = pl.DataFrame(
        {
            "kafka_topic": [t for t, _ in floors],
            "kafka_partition": [p for _, p in floors],
            "floor": list(floors.values()),
        },
        schema={"kafka_topic": pl.String, "kafka_partition": pl.Int32, "floor": pl.Int64},
    )
    return (
        frame.join(bounds, on=["kafka_topic", "kafka_partition"], how="inner")
        .filter(pl.col("kafka_offset") > pl.col("floor"))
        .drop("floor")
    )
