"""Kafka messages to bronze rows: accepted events and dead letters, as Polars frames.

Two paths: the fast path (`ingest.decode.fastpath`) decodes what it is sure of message by
message with msgspec; what it leaves goes through `envelope.parse` one at a time. Both give the
same rows for a message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
from confluent_kafka import TIMESTAMP_NOT_AVAILABLE, Message

from eventlake.catalog import BRONZE_DEAD_LETTERS, BRONZE_EVENTS
from eventlake.envelope import Event, Rejection, parse, to_json
from ingest.decode import fastpath

_UTC_US = pl.Datetime("us", "UTC")
_INT32_MAX = 2**31 - 1
_CHUNK = 10_000  # messages decoded at a time (larger chunks: a little faster, more memory)
_KAFKA_TS_MAX_MS = 2**63 // 1000 - 1  # beyond this a Kafka timestamp cannot be microseconds
_KAFKA_SCHEMA = pl.Schema(
    {
        "index": pl.Int64(),
        "kafka_topic": pl.String(),
        "kafka_partition": pl.Int32(),
        "kafka_offset": pl.Int64(),
        "kind": pl.Int64(),
        "ms": pl.Int64(),
    }
)
_DEAD_LETTER_SCHEMA = pl.Schema(
    {"index": pl.Int64(), "error_code": pl.String(), "error_detail": pl.String()}
)


@dataclass(frozen=True)
class DecodedBatch:
    """The rows one batch of messages adds to bronze/events and bronze/dead_letters."""

    events: pl.DataFrame  # schema of BRONZE_EVENTS
    dead_letters: pl.DataFrame  # schema of BRONZE_DEAD_LETTERS
    bytes: int  # sum of the message value sizes
    slow: int = 0  # messages that went through `envelope.parse` one at a time


def decode(
    messages: Sequence[Message],
    *,
    now_ms: int,
    max_bytes: int,
    ingested_at_us: int,
    kafka: pl.DataFrame | None = None,
) -> DecodedBatch:
    """Returns the bronze rows of `messages`: one event or one dead letter per message.

    Args:
        messages: consumed messages without errors.
        now_ms: the clock `envelope.parse` checks timestamps against.
        max_bytes: larger values are dead-lettered as too_large.
        ingested_at_us: the batch time written to every row.
        kafka: `positions(messages)`, when the caller has it already.
    """
    if kafka is None:
        kafka = positions(messages)
    ingested_at = pl.lit(ingested_at_us, pl.Int64).cast(_UTC_US).alias("ingested_at")
    chunks = [
        _decode_chunk(
            messages[first : first + _CHUNK],
            kafka.slice(first, _CHUNK),
            now_ms=now_ms,
            max_bytes=max_bytes,
            first=first,
        )
        for first in range(0, len(messages), _CHUNK)
    ] or [_decode_chunk([], kafka, now_ms=now_ms, max_bytes=max_bytes, first=0)]
    events = pl.concat([c.events for c in chunks]).with_columns(ingested_at)
    dead_letters = pl.concat([c.dead_letters for c in chunks]).with_columns(ingested_at)
    return DecodedBatch(
        events.select(BRONZE_EVENTS.schema.names()).cast(BRONZE_EVENTS.schema),
        dead_letters.select(BRONZE_DEAD_LETTERS.schema.names()).cast(BRONZE_DEAD_LETTERS.schema),
        sum(c.bytes for c in chunks),
        slow=sum(c.slow for c in chunks),
    )


def _decode_chunk(
    messages: Sequence[Message], kafka: pl.DataFrame, *, now_ms: int, max_bytes: int, first: int
) -> DecodedBatch:
    """Returns the rows of one chunk of a batch (small chunks keep the memory peak low);
    `kafka` holds the chunk's positions, indexed from `first`."""
    values = [m.value() for m in messages]
    fast = fastpath.accept(values, now_ms=now_ms, max_bytes=max_bytes)
    slow_events, slow_dead = _one_at_a_time(values, fast.deferred, now_ms, max_bytes)
    local = kafka.with_columns(pl.col("index") - first)
    events = (
        pl.concat([fast.events.with_columns(extra=pl.lit(None, pl.String)), slow_events])
        .join(local, on="index", how="left")
        .with_columns(pl.col("event_time").cast(_UTC_US))
        .with_columns(event_date=pl.col("event_time").dt.date())
    )
    dead_letters = slow_dead.join(local, on="index", how="left").with_columns(
        key=pl.Series([messages[i].key() for i in slow_dead["index"]], dtype=pl.Binary),
        raw=pl.Series([values[i] for i in slow_dead["index"]], dtype=pl.Binary),
    )
    size = sum(map(len, filter(None, values)))
    return DecodedBatch(events, dead_letters, size, slow=len(fast.deferred))


def positions(messages: Sequence[Message]) -> pl.DataFrame:
    """Returns the topic, partition, offset and Kafka timestamp of every message, by `index`."""
    stamps = [m.timestamp() for m in messages]
    frame = pl.DataFrame(
        {
            "index": range(len(messages)),
            "kafka_topic": [m.topic() for m in messages],
            "kafka_partition": [m.partition() for m in messages],
            "kafka_offset": [m.offset() for m in messages],
            "kind": [kind for kind, _ in stamps],
            "ms": [ms for _, ms in stamps],
        },
        schema=_KAFKA_SCHEMA,
    )
    ms = pl.col("ms")
    usable = (pl.col("kind") != TIMESTAMP_NOT_AVAILABLE) & (ms.abs() <= _KAFKA_TS_MAX_MS)
    timestamp = pl.when(usable).then(ms * 1000).otherwise(None).cast(_UTC_US)
    return frame.with_columns(kafka_timestamp=timestamp).drop("kind", "ms")


def _one_at_a_time(
    values: Sequence[bytes | None], positions: Sequence[int], now_ms: int, max_bytes: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Returns (events, dead letters) of the messages at `positions`, judged by `parse`."""
    events: dict[str, list[Any]] = {name: [] for name in (*fastpath.FAST_SCHEMA, "extra")}
    dead: dict[str, list[Any]] = {name: [] for name in _DEAD_LETTER_SCHEMA}
    for i in positions:
        result = parse(values[i], now_ms=now_ms, max_bytes=max_bytes)
        if isinstance(result, Event) and result.schema_version > _INT32_MAX:
            # parse accepts any version of an unregistered type; bronze's column is 32-bit
            result = Rejection(
                "invalid_field",
                f"schema_version {result.schema_version} does not fit bronze's 32-bit column",
            )
        if isinstance(result, Rejection):
            dead["index"].append(i)
            dead["error_code"].append(result.code)
            dead["error_detail"].append(result.detail)
            continue
        events["index"].append(i)
        events["event_id"].append(result.event_id)
        events["event_type"].append(result.event_type)
        events["schema_version"].append(result.schema_version)
        events["aggregate_id"].append(result.aggregate_id)
        events["event_time"].append(result.event_time_us)
        events["payload"].append(to_json(result.payload))
        events["metadata"].append(None if result.metadata is None else to_json(result.metadata))
        events["extra"].append(None if result.extra is None else to_json(result.extra))
        events["registered"].append(result.registered)
    schema = {**fastpath.FAST_SCHEMA, "extra": pl.String()}
    return pl.DataFrame(events, schema=schema), pl.DataFrame(dead, schema=_DEAD_LETTER_SCHEMA)
