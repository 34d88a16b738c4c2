"""The fast decode path is observably identical to `envelope.parse`, message by message.

`decode` (fast path, then `parse` for what it leaves) must give exactly the bronze rows that
`parse` alone gives: the same accept/reject decision, the same rejection code and detail, the
same stored values. Checked over arbitrary bytes, near-valid envelopes with every field
mutated and oddly encoded, the simulator's malformed messages, and hand-picked corner cases.
"""

from __future__ import annotations

import itertools
import random
from typing import Any

import msgspec
import pytest
from confluent_kafka import TIMESTAMP_CREATE_TIME, TIMESTAMP_NOT_AVAILABLE, Message
from decode_checks import INGESTED_US, assert_identical
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wire_strategies import (
    MAX_BYTES,
    NOW_MS,
    encoded,
    envelopes,
    message_values,
    payload_mutations,
    payloads,
    rfc3339,
)

from eventlake.envelope import REJECTION_CODES, parse, to_json
from eventlake.registry import REGISTRY, validate_payload
from ingest.decode.payloads import DECODERS
from ingest.decode.rows import decode
from ingest.simulator import SimulationOptions, messages
from ingest.simulator.faults import malformed


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.binary(max_size=300), min_size=1, max_size=12))
def test_identical_to_parse_on_arbitrary_bytes(values: list[bytes]) -> None:
    assert_identical(list(values))


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(message_values(), min_size=1, max_size=16))
def test_identical_to_parse_on_near_valid_envelopes(values: list[bytes | None]) -> None:
    assert_identical(values)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_identical_to_parse_when_one_field_at_a_time_is_mutated(data: st.DataObject) -> None:
    valid = next(_simulated(data.draw(st.integers(0, 10_000)), 1)).value
    envelope = msgspec.json.decode(valid)
    field = data.draw(st.sampled_from([*sorted(envelope), "schema_version", "metadata", "zz"]))
    mutated = {**envelope, field: data.draw(envelopes()).get(field, data.draw(st.integers()))}
    if data.draw(st.booleans()):
        del mutated[field]
    assert_identical([valid, data.draw(encoded(mutated))])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_identical_to_parse_on_rfc3339_timestamps(data: st.DataObject) -> None:
    values = [
        msgspec.json.encode({**envelope, "timestamp": data.draw(rfc3339())})
        for envelope in _simulated_envelopes(data, 8)
    ]
    assert_identical(values)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_identical_to_parse_when_one_payload_field_is_mutated(data: st.DataObject) -> None:
    values = []
    for envelope in _simulated_envelopes(data, 12):
        if data.draw(st.booleans()):
            envelope["payload"] = data.draw(payload_mutations(envelope["payload"]))
        if data.draw(st.integers(0, 3)) == 0 and envelope["event_type"] in (
            "order_placed",
            "user_signup",
        ):
            envelope["schema_version"] = data.draw(st.sampled_from([1, 2]))
        values.append(
            data.draw(encoded(envelope))
            if data.draw(st.booleans())
            else msgspec.json.encode(envelope)
        )
    assert_identical(values)


def _simulated(seed: int, n: int, **faults: float) -> Any:
    options = SimulationOptions(days=40, users=300, late=0.1, **faults)
    stream = messages(
        options, seed=seed, topics=("a", "b"), max_message_bytes=MAX_BYTES, clock=lambda: NOW_MS
    )
    return itertools.islice(stream, n)


def _simulated_envelopes(data: st.DataObject, n: int) -> list[dict[str, Any]]:
    """Returns `n` simulated envelopes, decoded, of a seed drawn from `data`."""
    seed = data.draw(st.integers(0, 10_000))
    return [msgspec.json.decode(m.value) for m in _simulated(seed, n)]


def test_the_fast_path_takes_the_simulated_traffic_and_parse_agrees() -> None:
    values = [m.value for m in _simulated(11, 5000, duplicates=0.05, out_of_order=0.05)]
    fast = assert_identical(values)
    assert fast.deferred == []  # every well-formed simulated event stays on the fast path
    assert fast.events.height == 5000


def test_every_rejection_code_of_the_malformed_corpus() -> None:
    rng = random.Random(5)
    base = [msgspec.json.decode(m.value) for m in _simulated(3, 200)]
    values = [
        malformed(code, event, rng, now_ms=NOW_MS, max_bytes=MAX_BYTES)
        for code in REJECTION_CODES
        for event in base[:20]
    ]
    fast = assert_identical(values)
    assert fast.events.height == 0  # no rejected message on the fast path
    codes = {parse(v, now_ms=NOW_MS, max_bytes=MAX_BYTES).code for v in values}  # type: ignore[union-attr]
    assert codes == set(REJECTION_CODES)


@pytest.mark.parametrize(
    "value",
    [
        b'{"event_id":"a","event_type":"login","aggregate_id":"u","timestamp":1750000000000,'
        b'"payload":{"user_id":"u"},"event_id":7}',  # the last of a duplicated key wins
        b'{"event_id":"a","event_type":"login","aggregate_id":"u","timestamp":1750000000000,'
        b'"payload":{"user_id":5,"user_id":"u"}}',
        b'{"event_id":"a","event_type":"login\\n","aggregate_id":"u","timestamp":1750000000000,'
        b'"payload":{"user_id":"u"}}',
        b'{"event_id":"a","event_type":"login","aggregate_id":"u","timestamp":1750000000000,'
        b'"payload":{"user_id":"\\u00e9"}}',  # an escape: stored re-encoded
        b'{"event_id":"a","event_type":"page_view","aggregate_id":"u","timestamp":1750000000000,'
        b'"payload":{"url":"/","user_id":"u"}}',  # the registry's order is not required
        b'{"event_id":"a","event_type":"product_view","aggregate_id":"u","timestamp":'
        b'1750000000000,"payload":{"user_id":"u","product_id":"p","view_duration":12}}',
        b'{"event_id":"a","event_type":"thing","aggregate_id":"u","timestamp":1750000000000,'
        b'"schema_version":1099511627776,"payload":{}}',  # too big for bronze's column
        b'{"event_id":"a","event_type":"thing","aggregate_id":"u","timestamp":'
        b'"\xd9\xa2\xd9\xa0\xd9\xa2\xd9\xa5-06-15T12:00:00Z","payload":{}}',  # Arabic-Indic digits
        b'{"event_id":"a","event_type":"thing","aggregate_id":"u","timestamp":1750000000000,'
        b'"payload":' + b"[" * 400 + b"]" * 400 + b"}",
        b'{"event_id":"a","event_type":"thing","aggregate_id":"u","timestamp":1750000000000,'
        b'"payload":{"n":' + b"[" * 990 + b"]" * 990 + b"}}",  # nested to the decoder's limit
        b'{"event_id":"a","event_type":"thing","aggregate_id":"u","timestamp":1750000000000,'
        b'"payload":{"s":"\\ud800"}}',  # a lone surrogate
        b'{"event_id":"a","event_type":"thing","aggregate_id":"u","timestamp":1750000000000,'
        b'"payload":{"s":1e400}}',
    ],
)
def test_corner_cases(value: bytes) -> None:
    assert_identical([value])


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_typed_payload_decoders_never_accept_what_the_registry_rejects(
    data: st.DataObject,
) -> None:
    name = data.draw(st.sampled_from(sorted(DECODERS)))
    version = data.draw(st.sampled_from(sorted(DECODERS[name])))
    payload = data.draw(payloads(name))
    if data.draw(st.booleans()):
        payload = data.draw(payload_mutations(payload))
    raw = data.draw(encoded(payload))
    try:
        typed = DECODERS[name][version](raw)
    except (msgspec.MsgspecError, ValueError, RecursionError):
        return
    payload = msgspec.json.decode(raw)
    assert validate_payload(REGISTRY[name], version, payload) is None
    if msgspec.json.encode(typed) == raw:  # canonical bytes are what bronze stores
        assert to_json(payload).encode() == raw


def test_kafka_timestamps_out_of_range_or_missing_are_null() -> None:
    value = next(_simulated(1, 1)).value
    msgs = [
        Message(
            topic="t", partition=0, offset=0, value=value, timestamp=(TIMESTAMP_CREATE_TIME, 2**62)
        ),
        Message(
            topic="t", partition=0, offset=1, value=value, timestamp=(TIMESTAMP_NOT_AVAILABLE, 0)
        ),
        Message(
            topic="t", partition=0, offset=2, value=value, timestamp=(TIMESTAMP_CREATE_TIME, -5)
        ),
    ]
    batch = decode(msgs, now_ms=NOW_MS, max_bytes=MAX_BYTES, ingested_at_us=INGESTED_US)
    stamps = batch.events.sort("kafka_offset")["kafka_timestamp"].dt.epoch("ms").to_list()
    assert stamps == [None, None, -5]
