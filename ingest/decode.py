"""Kafka messages to bronze rows: accepted events and dead letters, as Polars frames.

One message at a time through `envelope.parse` for now; the frames are built column-wise. The
boundary (`decode`: messages in, two frames out) is what a vectorised decoder will keep.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
from confluent_kafka import TIMESTAMP_NOT_AVAILABLE, Message

from eventlake.catalog import BRONZE_DEAD_LETTERS, BRONZE_EVENTS
from eventlake.envelope import Event, parse, to_json

_UTC_US = pl.Datetime("us", "UTC")
_DERIVED = ("event_date", "ingested_at")  # computed for the whole batch, not per message
# the columns filled per message; times as epoch microseconds, cast once per batch
_EVENT_COLUMNS = pl.Schema(
    {
        name: pl.Int64 if dtype == _UTC_US else dtype
        for name, dtype in BRONZE_EVENTS.schema.items()
        if name not in _DERIVED
    }
)
_DEAD_LETTER_COLUMNS = pl.Schema(
    {
        name: pl.Int64 if dtype == _UTC_US else dtype
        for name, dtype in BRONZE_DEAD_LETTERS.schema.items()
        if name not in _DERIVED
    }
)


@dataclass(frozen=True)
class DecodedBatch:
    """The rows one batch of messages adds to bronze/events and bronze/dead_letters."""

    events: pl.DataFrame  # schema of BRONZE_EVENTS
    dead_letters: pl.DataFrame  # schema of BRONZE_DEAD_LETTERS
    bytes: int  # sum of the message value sizes


def kafka_timestamp_us(message: Message) -> int | None:
    """Returns the message's Kafka timestamp in epoch microseconds, or None if it has none."""
    kind, ms = message.timestamp()
    return None if kind == TIMESTAMP_NOT_AVAILABLE else ms * 1000


def decode(
    messages: Sequence[Message], *, now_ms: int, max_bytes: int, ingested_at_us: int
) -> DecodedBatch:
    """Returns the bronze rows of `messages`: one event or one dead letter per message.

    Args:
        messages: consumed messages without errors.
        now_ms: the clock `envelope.parse` checks timestamps against.
        max_bytes: larger values are dead-lettered as too_large.
        ingested_at_us: the batch time written to every row.
    """
    ev: dict[str, list[Any]] = {name: [] for name in _EVENT_COLUMNS}
    dl: dict[str, list[Any]] = {name: [] for name in _DEAD_LETTER_COLUMNS}
    size = 0
    for message in messages:
        raw = message.value()
        size += len(raw) if raw else 0
        result = parse(raw, now_ms=now_ms, max_bytes=max_bytes)
        if isinstance(result, Event):
            ev["event_id"].append(result.event_id)
            ev["event_type"].append(result.event_type)
            ev["schema_version"].append(result.schema_version)
            ev["aggregate_id"].append(result.aggregate_id)
            ev["event_time"].append(result.event_time_us)
            ev["payload"].append(to_json(result.payload))
            ev["metadata"].append(None if result.metadata is None else to_json(result.metadata))
            ev["extra"].append(None if result.extra is None else to_json(result.extra))
            ev["registered"].append(result.registered)
            columns = ev
        else:
            dl["key"].append(message.key())
            dl["raw"].append(raw)
            dl["error_code"].append(result.code)
            dl["error_detail"].append(result.detail)
            columns = dl
        columns["kafka_topic"].append(message.topic())
        columns["kafka_partition"].append(message.partition())
        columns["kafka_offset"].append(message.offset())
        columns["kafka_timestamp"].append(kafka_timestamp_us(message))
    ingested_at = pl.lit(ingested_at_us, pl.Int64).cast(_UTC_US).alias("ingested_at")
    events = (
        pl.DataFrame(ev, schema=_EVENT_COLUMNS)
        .with_columns(pl.col("event_time", "kafka_timestamp").cast(_UTC_US), ingested_at)
        .with_columns(event_date=pl.col("event_time").dt.date())
        .select(BRONZE_EVENTS.schema.names())
    )
    dead_letters = (
        pl.DataFrame(dl, schema=_DEAD_LETTER_COLUMNS)
        .with_columns(pl.col("kafka_timestamp").cast(_UTC_US), ingested_at)
        .select(BRONZE_DEAD_LETTERS.schema.names())
    )
    return DecodedBatch(events, dead_letters, size)
