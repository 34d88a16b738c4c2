"""Malformed messages: for each rejection code of docs/wire-format.md, bytes that earn exactly it.

Each builder starts from a well-formed event (so the bad message looks like real traffic from a
buggy producer) and breaks one thing. `envelope.parse` is the judge: the tests check that every
message built here is rejected with the code it was built for.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import msgspec

from eventlake.envelope import REJECTION_CODES, RejectionCode
from eventlake.registry import REGISTRY

Envelope = dict[str, Any]  # a well-formed event, `timestamp` included

# After one of each code, codes are drawn by weight: a too_large message weighs a megabyte in
# the broker, so it stays rare.
CODE_WEIGHTS: dict[RejectionCode, float] = {code: 1.0 for code in REJECTION_CODES}
CODE_WEIGHTS["too_large"] = 0.1


def _encode(value: Any) -> bytes:
    return msgspec.json.encode(value)


def _not_json(event: Envelope, rng: random.Random, now_ms: int, max_bytes: int) -> bytes:
    good = _encode(event)
    variant = rng.randrange(4)
    if variant == 0:
        return b""  # empty
    if variant == 1:  # valid JSON syntax, but a string holds bytes that are not UTF-8
        marked = _encode({**event, "event_id": "\x00MARK\x00"})
        return marked.replace(b"\\u0000MARK\\u0000", event["event_id"].encode() + b"\xff\xfe")
    if variant == 2:
        return good[: max(1, len(good) // 2)]  # truncated in flight
    return (
        b"event_type=" + event["event_type"].encode() + b"&user=" + event["aggregate_id"].encode()
    )


def _not_an_object(event: Envelope, rng: random.Random, now_ms: int, max_bytes: int) -> bytes:
    return _encode(rng.choice(([event], event["event_id"], 42, None, True)))


def _missing_field(event: Envelope, rng: random.Random, now_ms: int, max_bytes: int) -> bytes:
    broken = dict(event)
    del broken[rng.choice(("event_id", "event_type", "aggregate_id", "timestamp", "payload"))]
    return _encode(broken)


def _invalid_field(event: Envelope, rng: random.Random, now_ms: int, max_bytes: int) -> bytes:
    name, value = rng.choice(
        (
            ("event_id", ""),
            ("event_id", 12345),
            ("event_type", "Order Placed"),
            ("aggregate_id", ""),
            ("payload", [event["payload"]]),
            ("metadata", "web"),
            ("schema_version", "2"),
            ("schema_version", 0),
            ("timestamp", "yesterday"),
            ("timestamp", 1.7e12),
        )
    )
    return _encode({**event, name: value})


def _timestamp_out_of_range(
    event: Envelope, rng: random.Random, now_ms: int, max_bytes: int
) -> bytes:
    value = rng.choice(
        (
            631_152_000_000,  # 1990-01-01: a device clock that was never set
            now_ms + 3 * 86_400_000,  # three days ahead
            "1999-12-31T23:59:59Z",
        )
    )
    return _encode({**event, "timestamp": value})


def _unknown_schema_version(
    event: Envelope, rng: random.Random, now_ms: int, max_bytes: int
) -> bytes:
    latest = REGISTRY[event["event_type"]].latest_version
    return _encode({**event, "schema_version": rng.choice((latest + 1, 99))})


def _payload_invalid(event: Envelope, rng: random.Random, now_ms: int, max_bytes: int) -> bytes:
    payload = dict(event["payload"])
    if event["event_type"] == "order_placed" and event.get("schema_version") == 2:
        payload["total_amount"] = round(payload["total_amount"] + 10.0, 2)  # items do not add up
    elif rng.random() < 0.5:
        del payload["user_id"]
    else:
        payload["user_id"] = rng.choice((None, 42, ["u1"]))
    return _encode({**event, "payload": payload})


def _too_large(event: Envelope, rng: random.Random, now_ms: int, max_bytes: int) -> bytes:
    good = _encode(event)
    padding = "x" * (max_bytes - len(good) + rng.randint(64, 4096))
    return _encode({**event, "payload": {**event["payload"], "attachment": padding}})


BUILDERS: dict[RejectionCode, Callable[[Envelope, random.Random, int, int], bytes]] = {
    "not_json": _not_json,
    "not_an_object": _not_an_object,
    "missing_field": _missing_field,
    "invalid_field": _invalid_field,
    "timestamp_out_of_range": _timestamp_out_of_range,
    "unknown_schema_version": _unknown_schema_version,
    "payload_invalid": _payload_invalid,
    "too_large": _too_large,
}


def malformed(
    code: RejectionCode, event: Envelope, rng: random.Random, *, now_ms: int, max_bytes: int
) -> bytes:
    """Returns the bytes of a message, derived from `event`, that is rejected with `code`."""
    return BUILDERS[code](event, rng, now_ms, max_bytes)


def pick_code(rng: random.Random, index: int) -> RejectionCode:
    """Returns the code of the `index`-th malformed message: each code once, then by weight."""
    if index < len(REJECTION_CODES):
        return REJECTION_CODES[index]
    codes = list(CODE_WEIGHTS)
    return rng.choices(codes, [CODE_WEIGHTS[c] for c in codes])[0]
