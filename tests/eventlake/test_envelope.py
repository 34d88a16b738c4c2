"""The wire format of docs/wire-format.md: what is accepted, what is rejected and with which code."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventlake.envelope import REJECTION_CODES, Event, Rejection, parse, to_json

NOW_MS = 1_790_000_000_000  # 2026-09-21
DAY_MS = 86_400_000


def envelope(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "event_id": "e-1",
        "event_type": "login",
        "aggregate_id": "u-1",
        "timestamp": NOW_MS - DAY_MS,
        "payload": {"user_id": "u-1"},
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not _DROP}


_DROP = object()


def run(obj: Any, max_bytes: int = 1024 * 1024) -> Event | Rejection:
    raw = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    return parse(raw, now_ms=NOW_MS, max_bytes=max_bytes)


def code(obj: Any, **kw: Any) -> str:
    result = run(obj, **kw)
    assert isinstance(result, Rejection), f"expected a rejection, got {result}"
    return result.code


def test_a_minimal_event_is_accepted_with_defaults() -> None:
    event = run(envelope())
    assert isinstance(event, Event)
    assert event.schema_version == 1
    assert event.event_time_us == (NOW_MS - DAY_MS) * 1000
    assert event.metadata is None and event.extra is None
    assert event.registered


def test_rfc3339_timestamps_with_offsets_convert_to_utc() -> None:
    event = run(envelope(timestamp="2026-09-20T12:30:00.123456789+02:00"))
    assert isinstance(event, Event)
    # 10:30:00.123456 UTC; digits past microseconds are truncated
    assert event.event_time_us == 1_789_900_200_123_456
    lower = run(envelope(timestamp="2026-09-20t10:30:00z"))
    assert isinstance(lower, Event) and lower.event_time_us == 1_789_900_200_000_000


@pytest.mark.parametrize(
    "obj, expected",
    [
        (b"", "not_json"),
        (b"\xff\xfe", "not_json"),
        (b'{"event_id": ', "not_json"),
        (b'{"a": "\\ud800"}', "not_json"),
        (b"[1, 2]", "not_an_object"),
        (b'"text"', "not_an_object"),
        (envelope(event_id=_DROP), "missing_field"),
        (envelope(payload=_DROP), "missing_field"),
        (envelope(event_id=""), "invalid_field"),
        (envelope(event_id="x" * 129), "invalid_field"),
        (envelope(event_id=7), "invalid_field"),
        (envelope(event_type="Login"), "invalid_field"),
        (envelope(event_type="a" * 65), "invalid_field"),
        (envelope(aggregate_id="x" * 257), "invalid_field"),
        (envelope(payload=[1]), "invalid_field"),
        (envelope(metadata="s-1"), "invalid_field"),
        (envelope(schema_version=0), "invalid_field"),
        (envelope(schema_version=True), "invalid_field"),
        (envelope(schema_version="2"), "invalid_field"),
        (envelope(timestamp=1.5e12), "invalid_field"),
        (envelope(timestamp="2026-09-20 10:30:00"), "invalid_field"),
        (envelope(timestamp="2026-02-30T10:30:00Z"), "invalid_field"),
        (envelope(timestamp=True), "invalid_field"),
        (envelope(timestamp=946_684_799_999), "timestamp_out_of_range"),
        (envelope(timestamp=NOW_MS + DAY_MS + 1), "timestamp_out_of_range"),
        (envelope(timestamp="1999-12-31T23:59:59Z"), "timestamp_out_of_range"),
        (envelope(timestamp=10**18), "timestamp_out_of_range"),
        (envelope(schema_version=2), "unknown_schema_version"),
        (envelope(payload={}), "payload_invalid"),
        (envelope(payload={"user_id": 5}), "payload_invalid"),
    ],
)
def test_rejection_codes(obj: Any, expected: str) -> None:
    assert code(obj) == expected


def test_timestamp_bounds_are_inclusive() -> None:
    assert isinstance(run(envelope(timestamp=946_684_800_000)), Event)
    assert isinstance(run(envelope(timestamp=NOW_MS + DAY_MS)), Event)


def test_too_large_is_checked_before_parsing() -> None:
    raw = json.dumps(envelope(payload={"user_id": "u", "blob": "x" * 200})).encode()
    assert code(raw, max_bytes=100) == "too_large"
    assert isinstance(run(raw, max_bytes=len(raw)), Event)


def test_unregistered_types_are_accepted_schemaless_with_any_version() -> None:
    event = run(envelope(event_type="invoice_paid", schema_version=9, payload={"x": [1]}))
    assert isinstance(event, Event) and not event.registered and event.schema_version == 9


def test_unknown_top_level_keys_are_kept() -> None:
    event = run(envelope(tenant="acme", trace={"id": 1}))
    assert isinstance(event, Event)
    assert event.extra == {"tenant": "acme", "trace": {"id": 1}}


def test_null_optional_fields_mean_absent() -> None:
    event = run(envelope(schema_version=None, metadata=None))
    assert isinstance(event, Event) and event.schema_version == 1 and event.metadata is None


def test_big_integers_round_trip_as_json_text() -> None:
    event = run(
        b'{"event_id":"e","event_type":"thing","aggregate_id":"a","timestamp":'
        + str(NOW_MS).encode()
        + b',"payload":{"n":123456789012345678901234567890}}'
    )
    assert isinstance(event, Event)
    assert to_json(event.payload) == '{"n":123456789012345678901234567890}'


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_parse_never_raises_on_arbitrary_bytes(raw: bytes) -> None:
    result = parse(raw, now_ms=NOW_MS)
    assert isinstance(result, (Event, Rejection))
    if isinstance(result, Rejection):
        assert result.code in REJECTION_CODES and result.detail


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "event_id": _json | st.text(min_size=1, max_size=5),
            "event_type": _json | st.sampled_from(["login", "order_placed", "user_signup", "x1"]),
            "aggregate_id": _json | st.just("u"),
            "timestamp": _json | st.integers(NOW_MS - 10 * DAY_MS, NOW_MS),
            "payload": _json
            | st.fixed_dictionaries({}, optional={"user_id": _json, "items": _json}),
            "schema_version": _json,
            "metadata": _json,
        },
    )
)
def test_parse_never_raises_on_arbitrary_envelopes(obj: dict[str, Any]) -> None:
    result = parse(json.dumps(obj).encode(), now_ms=NOW_MS)
    assert isinstance(result, (Event, Rejection))
    if isinstance(result, Event):
        # whatever was accepted can be stored as JSON text
        to_json(result.payload)
