"""The columnar path takes only what `envelope.parse` accepts, with `parse`'s very values.

Its every accepted row is compared with `parse` alone (and the whole decode with `parse` too,
`decode_checks.assert_identical`) over envelopes in the wire order it takes, each field mutated,
odd metadata (keys twice, the names of envelope fields as keys, braces and quotes in values),
payloads that hold what looks like the end of an envelope, odd encodings and arbitrary bytes.
"""

from __future__ import annotations

import itertools
from typing import Any

import msgspec
import polars as pl
import pytest
from decode_checks import assert_identical, reference
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wire_strategies import MAX_BYTES, NOW_MS, encoded, envelopes, message_values, rfc3339

from ingest.decode import columnar
from ingest.simulator import SimulationOptions, messages

_WIRE_ORDER = ("event_id", "event_type", "aggregate_id", "payload", "schema_version", "metadata")
_TRICKY = st.sampled_from(
    ["}", '},"timestamp":1}', "timestamp", "metadata", "a\u2028b\x7f", "é😀", "", "{", ":"]
)
_METADATA = st.dictionaries(
    _TRICKY | st.text(max_size=6),
    _TRICKY | st.integers() | st.booleans() | st.none() | st.floats(allow_nan=False),
    max_size=4,
)


def _in_wire_order(envelope: dict[str, Any]) -> dict[str, Any]:
    """The envelope with its keys in the order of docs/wire-format.md, the timestamp last."""
    first = {k: envelope[k] for k in _WIRE_ORDER if k in envelope}
    rest = {k: v for k, v in envelope.items() if k not in first}
    return {**first, **rest}


@st.composite
def wire_values(draw: st.DrawFn) -> bytes | None:
    """Mostly envelopes in the order the columnar path takes, with odd metadata and payloads."""
    if draw(st.integers(0, 4)) == 0:
        return draw(message_values())
    envelope = draw(envelopes())
    if draw(st.booleans()):
        envelope["metadata"] = draw(_METADATA | st.none())
    if draw(st.integers(0, 3)) == 0:
        envelope["timestamp"] = draw(rfc3339())
    if draw(st.integers(0, 3)) == 0 and isinstance(envelope.get("payload"), dict):
        envelope["payload"] = {**envelope["payload"], draw(_TRICKY): draw(_TRICKY)}
    ordered = _in_wire_order(envelope)
    if draw(st.integers(0, 3)) == 0:
        return draw(encoded(ordered))
    return msgspec.json.encode(ordered)


def assert_columnar_exact(values: list[bytes | None]) -> pl.DataFrame:
    """Asserts every row the columnar path accepts is `parse`'s; returns those rows."""
    taken = columnar.accept(values, now_ms=NOW_MS, max_bytes=MAX_BYTES)
    assert sorted([*taken.events["index"], *taken.deferred]) == list(range(len(values)))
    expected = {e.pop("kafka_offset"): e for e in reference(values)[0]}
    for row in taken.events.to_dicts():
        want = expected.get(row.pop("index"))
        assert want is not None, f"accepted what parse rejects: {row}"
        assert want.pop("extra") is None  # unknown top-level keys are left to the others
        assert row == want
    assert_identical(values)
    return taken.events


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(wire_values(), min_size=1, max_size=16))
def test_identical_to_parse_on_envelopes_in_wire_order(values: list[bytes | None]) -> None:
    assert_columnar_exact(values)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.binary(max_size=300), min_size=1, max_size=12))
def test_identical_to_parse_on_arbitrary_bytes(values: list[bytes]) -> None:
    assert_columnar_exact(list(values))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_identical_to_parse_when_the_simulated_traffic_is_cut_or_spliced(
    data: st.DataObject,
) -> None:
    values = _simulated(data.draw(st.integers(0, 10_000)), 6)
    i = data.draw(st.integers(0, len(values) - 1))
    cut = data.draw(st.integers(0, len(values[i])))
    values[i] = values[i][:cut] + data.draw(st.binary(max_size=4)) + values[i][cut:]
    assert_columnar_exact(values)


def _simulated(seed: int, n: int) -> list[bytes]:
    options = SimulationOptions(days=40, users=300, late=0.1)
    stream = messages(
        options, seed=seed, topics=("a",), max_message_bytes=MAX_BYTES, clock=lambda: NOW_MS
    )
    return [m.value for m in itertools.islice(stream, n)]


def test_the_columnar_path_takes_the_simulated_traffic() -> None:
    values = _simulated(7, 5000)
    taken = assert_columnar_exact(list(values))
    kinds = [msgspec.json.decode(values[i])["event_type"] for i in range(len(values))]
    left = {
        kinds[i]
        for i in set(range(len(values))) - set(taken["index"].to_list())
        if msgspec.json.decode(values[i]).get("schema_version") != 2 or kinds[i] != "order_placed"
    }
    assert left == set()  # all but order_placed v2, whose cross-field check it leaves
    assert taken.height > 0.95 * len(values)


_ENVELOPE = (
    b'{"event_id":"a","event_type":"login","aggregate_id":"u","payload":{"user_id":"u"},'
    b'"metadata":%s,"timestamp":1750000000000}'
)


@pytest.mark.parametrize(
    ("value", "taken"),
    [
        (_ENVELOPE % b'{"k":"v","k":"w"}', False),  # a metadata key twice: parse merges them
        (_ENVELOPE % b'{"timestamp":"}","metadata":1}', True),
        (_ENVELOPE % b'{"x":1.5}', False),  # a float: left to the others
        (_ENVELOPE % b'{"x":-0}', False),
        (_ENVELOPE % b"null", True),
        (_ENVELOPE % b"{}", True),
        (_ENVELOPE % b'{"s":"\\u00e9"}', False),  # an escape
        (
            b'{"event_id":"a","event_type":"login","aggregate_id":"u","payload":{"user_id":'
            b'"},\\"timestamp\\":5}"},"timestamp":1750000000000}',
            True,  # what looks like the envelope's end, escaped in a payload string: canonical
        ),
        (
            b'{"event_id":"a","event_type":"login","aggregate_id":"u","payload":{"user_id":"u"},'
            b'"schema_version":null,"timestamp":"2025-06-15T12:00:00.5+02:00"}',
            True,
        ),
        (
            b'{"event_id":"a","event_type":"login","aggregate_id":"u","payload":{"user_id":"u"},'
            b'"schema_version":2147483648,"timestamp":1750000000000}',
            False,
        ),
        (
            b'{"event_id":"\xc3\xa9","event_type":"login","aggregate_id":"u","payload":'
            b'{"user_id":"\xf0\x9f\x98\x80"},"timestamp":1750000000000}',
            True,
        ),
        (
            b'{"event_id":"a","event_type":"login","aggregate_id":"u","payload":{"user_id":"u"},'
            b'"timestamp":1750000000000}\xff',
            False,
        ),
    ],
)
def test_corner_cases(value: bytes, taken: bool) -> None:
    events = assert_columnar_exact([value])
    assert events.height == int(taken)
