"""Helpers of the decode tests: `decode` checked against `envelope.parse` alone."""

from __future__ import annotations

from typing import Any

import polars as pl
from confluent_kafka import TIMESTAMP_CREATE_TIME, Message
from wire_strategies import MAX_BYTES, NOW_MS

from eventlake.catalog import BRONZE_DEAD_LETTERS, BRONZE_EVENTS
from eventlake.envelope import Event, parse, to_json
from ingest.decode import fastpath
from ingest.decode.rows import decode

INGESTED_US = NOW_MS * 1000 + 123
_UTC_US = pl.Datetime("us", "UTC")


def kafka_messages(values: list[bytes | None]) -> list[Message]:
    return [
        Message(
            topic="t",
            partition=i % 3,
            offset=i,
            key=b"k%d" % i,
            value=value,
            timestamp=(TIMESTAMP_CREATE_TIME, NOW_MS - i),
        )
        for i, value in enumerate(values)
    ]


def reference(values: list[bytes | None]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Returns the (events, dead letters) rows `envelope.parse` alone gives, by offset."""
    events, dead = [], []
    for offset, value in enumerate(values):
        result = parse(value, now_ms=NOW_MS, max_bytes=MAX_BYTES)
        if isinstance(result, Event) and result.schema_version < 2**31:
            events.append(
                {
                    "event_id": result.event_id,
                    "event_type": result.event_type,
                    "schema_version": result.schema_version,
                    "aggregate_id": result.aggregate_id,
                    "event_time": result.event_time_us,
                    "payload": to_json(result.payload),
                    "metadata": None if result.metadata is None else to_json(result.metadata),
                    "extra": None if result.extra is None else to_json(result.extra),
                    "registered": result.registered,
                    "kafka_offset": offset,
                }
            )
        elif isinstance(result, Event):  # bronze stores the version in 32 bits
            dead.append({"kafka_offset": offset, "error_code": "invalid_field"})
        else:
            dead.append(
                {"kafka_offset": offset, "error_code": result.code, "error_detail": result.detail}
            )
    return events, dead


def assert_identical(values: list[bytes | None]) -> fastpath.FastResult:
    """Asserts `decode` gives `parse`'s rows for `values`; returns the fast path's own result."""
    batch = decode(
        kafka_messages(values), now_ms=NOW_MS, max_bytes=MAX_BYTES, ingested_at_us=INGESTED_US
    )
    assert batch.events.schema == BRONZE_EVENTS.schema
    assert batch.dead_letters.schema == BRONZE_DEAD_LETTERS.schema
    expected_events, expected_dead = reference(values)
    events = (
        batch.events.sort("kafka_offset")
        .with_columns(pl.col("event_time").dt.epoch("us"))
        .select(*expected_events[0], pl.col("event_date"))
        if expected_events
        else None
    )
    if events is None:
        assert batch.events.height == 0
    else:
        assert events.drop("event_date").to_dicts() == expected_events
        dates = [pl.Series([e["event_time"]]).cast(_UTC_US).dt.date()[0] for e in expected_events]
        assert events["event_date"].to_list() == dates
    dead = batch.dead_letters.sort("kafka_offset").to_dicts()
    assert [d["kafka_offset"] for d in dead] == [d["kafka_offset"] for d in expected_dead]
    for got, want in zip(dead, expected_dead, strict=True):
        assert got["raw"] == values[got["kafka_offset"]]
        assert {k: got[k] for k in want} == want
    fast = fastpath.accept(values, now_ms=NOW_MS, max_bytes=MAX_BYTES)
    assert sorted([*fast.events["index"], *fast.deferred]) == list(range(len(values)))
    assert batch.slow == len(fast.deferred)
    return fast
