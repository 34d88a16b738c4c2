"""decode: Kafka messages to bronze rows, exactly per the catalog (real `Message` objects)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import msgspec
import polars as pl
from confluent_kafka import TIMESTAMP_CREATE_TIME, TIMESTAMP_NOT_AVAILABLE, Message

from eventlake.catalog import BRONZE_DEAD_LETTERS, BRONZE_EVENTS
from ingest.decode.rows import decode

NOW_MS = 1_750_000_000_000
INGESTED_US = 1_750_000_123_000_000


def message(
    offset: int, value: bytes | None, *, key: bytes | None = b"u1", ts: int | None = NOW_MS
):
    """Returns a real confluent_kafka Message, as the consumer hands them out."""
    timestamp = (TIMESTAMP_NOT_AVAILABLE, 0) if ts is None else (TIMESTAMP_CREATE_TIME, ts)
    return Message(topic="t", partition=3, offset=offset, key=key, value=value, timestamp=timestamp)


def wire(**fields: object) -> bytes:
    base = {
        "event_id": "e1",
        "event_type": "login",
        "aggregate_id": "u1",
        "timestamp": NOW_MS - 1000,
        "payload": {"user_id": "u1"},
    }
    return msgspec.json.encode({**base, **fields})


def test_accepted_events_become_rows_of_bronze_events() -> None:
    msgs = [
        message(10, wire()),
        message(
            11,
            wire(
                event_id="e2",
                event_type="coupon_redeemed",  # not registered: kept, schemaless
                timestamp="2025-06-14T23:30:00.250-02:00",  # = 2025-06-15T01:30:00.25Z
                payload={"code": "X", "amount": 2**70},
                metadata={"session_id": "s1", "source": "web"},
                trace="abc",  # unknown top-level key: kept in `extra`
            ),
            key=None,
            ts=None,
        ),
    ]
    batch = decode(msgs, now_ms=NOW_MS, max_bytes=4096, ingested_at_us=INGESTED_US)
    assert batch.events.schema == BRONZE_EVENTS.schema
    assert batch.dead_letters.schema == BRONZE_DEAD_LETTERS.schema
    assert batch.dead_letters.height == 0
    assert batch.bytes == sum(len(m.value()) for m in msgs)
    first, second = batch.events.rows(named=True)
    assert first == {
        "event_id": "e1",
        "event_type": "login",
        "schema_version": 1,
        "aggregate_id": "u1",
        "event_time": datetime.fromtimestamp((NOW_MS - 1000) / 1000, UTC),
        "event_date": date(2025, 6, 15),
        "payload": '{"user_id":"u1"}',
        "metadata": None,
        "extra": None,
        "registered": True,
        "kafka_topic": "t",
        "kafka_partition": 3,
        "kafka_offset": 10,
        "kafka_timestamp": datetime.fromtimestamp(NOW_MS / 1000, UTC),
        "ingested_at": datetime.fromtimestamp(INGESTED_US / 1e6, UTC),
    }
    assert second["event_time"] == datetime(2025, 6, 15, 1, 30, 0, 250_000, tzinfo=UTC)
    assert second["event_date"] == date(2025, 6, 15)  # the UTC day, not the sender's
    assert second["registered"] is False
    assert msgspec.json.decode(second["payload"]) == {"code": "X", "amount": 2**70}
    assert msgspec.json.decode(second["metadata"]) == {"session_id": "s1", "source": "web"}
    assert msgspec.json.decode(second["extra"]) == {"trace": "abc"}
    assert second["kafka_timestamp"] is None


def test_rejected_messages_become_dead_letters_with_their_raw_bytes() -> None:
    raws = [b"", b"\xff\xfe{}", b"[1, 2]", wire(schema_version=9), wire(payload={"x": 1})]
    msgs = [message(i, raw, key=None if i == 0 else b"k%d" % i) for i, raw in enumerate(raws)]
    msgs.append(message(5, None))  # a tombstone: no value at all
    msgs.append(message(6, wire()))
    batch = decode(msgs, now_ms=NOW_MS, max_bytes=4096, ingested_at_us=INGESTED_US)
    assert batch.events["kafka_offset"].to_list() == [6]
    dead = batch.dead_letters
    assert dead.schema == BRONZE_DEAD_LETTERS.schema
    assert dead["error_code"].to_list() == [
        "not_json",
        "not_json",
        "not_an_object",
        "unknown_schema_version",
        "payload_invalid",
        "not_json",
    ]
    assert dead["raw"].to_list() == [*raws, None]
    assert dead["key"].to_list() == [None, b"k1", b"k2", b"k3", b"k4", b"u1"]
    assert dead["kafka_offset"].to_list() == [0, 1, 2, 3, 4, 5]
    assert dead["error_detail"].str.len_chars().min() > 0
    assert dead["ingested_at"].unique().to_list() == [
        datetime.fromtimestamp(INGESTED_US / 1e6, UTC)
    ]


def test_too_large_is_judged_on_the_bytes_received() -> None:
    big = wire(payload={"user_id": "u1", "blob": "x" * 5000})
    batch = decode([message(0, big)], now_ms=NOW_MS, max_bytes=4096, ingested_at_us=INGESTED_US)
    assert batch.dead_letters.select("error_code", "raw").rows() == [("too_large", big)]


def test_an_empty_batch_gives_empty_frames_of_the_catalog_schemas() -> None:
    batch = decode([], now_ms=NOW_MS, max_bytes=4096, ingested_at_us=INGESTED_US)
    assert batch.events.schema == BRONZE_EVENTS.schema and batch.events.height == 0
    assert batch.dead_letters.schema == BRONZE_DEAD_LETTERS.schema
    assert batch.dead_letters.height == 0
    assert isinstance(batch.events, pl.DataFrame)
