"""Hypothesis strategies for Kafka message values: valid envelopes, near-valid ones with any field
broken, odd encodings of both, and arbitrary bytes. Shared by the fast-path identity tests."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import msgspec
from hypothesis import strategies as st

from eventlake.countries import ISO_3166_ALPHA2

NOW_MS = 1_750_000_000_000  # 2025-06-15T15:06:40Z
DAY_MS = 86_400_000
MAX_BYTES = 4096

_text = st.text(max_size=12)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=10,
)
_ints = st.sampled_from([0, 1, -1, 2, 3, 2**31 - 1, 2**31, 2**63 - 1, 2**63, 2**64, -(2**63)])
_numbers = (
    st.integers(-5, 10**6)
    | st.floats(-10.0, 1e6, allow_nan=False)
    | st.sampled_from([0.0, -0.0, 1e299, 1e300, 1.5e300, int(1e300) + 1, 10**301, 2**70, 12.5])
)
_strings = st.sampled_from(["", "u1", "é", "😀", "a\\u0000b", "x" * 128, "x" * 129, "x" * 257])
_odd = _json | _ints | _numbers | _strings | st.booleans()


def _timestamp() -> st.SearchStrategy[Any]:
    ms = st.integers(NOW_MS - 40 * DAY_MS, NOW_MS + 2 * DAY_MS)
    bounds = st.sampled_from(
        [946_684_800_000, 946_684_799_999, NOW_MS + DAY_MS, NOW_MS + DAY_MS + 1, 10**15, 10**16]
    )
    text = st.builds(
        lambda y, mo, d, h, mi, s, frac, sep, zone: (
            f"{y:04d}-{mo:02d}-{d:02d}{sep}{h:02d}:{mi:02d}:{s:02d}{frac}{zone}"
        ),
        st.sampled_from([1999, 2000, 2024, 2025, 2026, 1, 9999]),
        st.integers(0, 13),
        st.integers(0, 32),
        st.integers(0, 24),
        st.integers(0, 60),
        st.integers(0, 60),
        st.sampled_from(["", ".1", ".123", ".123456", ".1234567891", "."]),
        st.sampled_from(["T", "t", " ", "_"]),
        st.sampled_from(
            [
                "Z",
                "z",
                "+00:00",
                "-05:00",
                "+05:30",
                "+23:59",
                "+24:00",
                "-00:60",
                "",
                "+0200",
                "+02",
            ]
        ),
    )
    odd_text = st.sampled_from(
        [
            "2025-06-15T12:00:00Z\n",
            " 2025-06-15T12:00:00Z",
            "٢٠٢٥-06-15T12:00:00Z",
            "2025-06-15T12:00:00+02:00",
            "2024-02-29T00:00:00Z",
            "2025-02-29T00:00:00Z",
        ]
    )
    return ms | bounds | text | odd_text | st.floats(1e12, 2e12) | st.booleans() | st.none()


def payloads(event_type: str) -> st.SearchStrategy[dict[str, Any]]:
    user = st.sampled_from(["u1", "u2", ""])
    item = st.fixed_dictionaries(
        {"product_id": st.sampled_from(["P1", "P2"]), "quantity": st.integers(0, 4)},
        optional={"unit_price": st.sampled_from([0, 2.5, 10, -1.0]), "note": _text},
    )
    fields: dict[str, Any] = {
        "user_signup": {"user_id": user, "signup_source": st.just("web"), "plan": st.just("free")},
        "login": {"user_id": user},
        "logout": {"user_id": user},
        "page_view": {"user_id": user, "url": st.just("https://x.example/p")},
        "product_view": {"user_id": user, "product_id": st.just("P1"), "view_duration": _numbers},
        "add_to_cart": {"user_id": user, "product_id": st.just("P1"), "quantity": _numbers},
        "order_placed": {
            "user_id": user,
            "order_id": st.just("o1"),
            "total_amount": st.sampled_from([0, 5, 12.5, 25.0, -1]),
            "currency": st.sampled_from(["EUR", "USD", "eur", "EURO"]),
            "items": st.lists(item, max_size=3),
        },
    }
    optional: dict[str, Any] = {
        "page_view": {"referrer": st.sampled_from(["https://r.example", None, 3])},
        "user_signup": {"country": st.sampled_from([*sorted(ISO_3166_ALPHA2)[:5], "XX", "fr"])},
    }
    return st.fixed_dictionaries(
        fields.get(event_type, {"x": _json}),
        optional={**optional.get(event_type, {}), "extra_field": _json},
    )


@st.composite
def envelopes(draw: st.DrawFn) -> dict[str, Any]:
    """A registered or unregistered event, valid or not: every field may be missing or odd."""
    event_type = draw(
        st.sampled_from(
            [
                "user_signup",
                "login",
                "logout",
                "page_view",
                "product_view",
                "add_to_cart",
                "order_placed",
                "coupon_redeemed",
                "Bad-Type",
                "x" * 65,
            ]
        )
    )
    envelope: dict[str, Any] = {
        "event_id": draw(st.sampled_from(["e1", "e-2", "é", "x" * 128]) | _odd),
        "event_type": event_type,
        "aggregate_id": draw(st.sampled_from(["u1"]) | _odd),
        "timestamp": draw(_timestamp()),
        "payload": draw(payloads(event_type) | _odd),
    }
    if draw(st.booleans()):
        envelope["schema_version"] = draw(st.sampled_from([1, 2, 3, None, 0, True, "1", 2**40]))
    if draw(st.booleans()):
        envelope["metadata"] = draw(
            st.fixed_dictionaries({"session_id": _text}, optional={"sequence": _ints}) | _odd
        )
    if draw(st.integers(0, 5)) == 0:
        envelope[draw(_text)] = draw(_json)  # an unknown top-level key
    for name in list(envelope):
        if draw(st.integers(0, 11)) == 0:
            del envelope[name]
    return envelope


@st.composite
def encoded(draw: st.DrawFn, value: Any) -> bytes:
    """`value` as JSON bytes the way some producer might send it."""
    style = draw(st.integers(0, 5))
    if style == 0:
        return json.dumps(value).encode()  # spaces after separators, \\u escapes
    if style == 1 and isinstance(value, dict):  # keys shuffled
        keys = draw(st.permutations(list(value)))
        return msgspec.json.encode({k: value[k] for k in keys})
    if style == 2 and isinstance(value, dict) and value:  # a key sent twice
        key = draw(st.sampled_from(sorted(value)))
        first = msgspec.json.encode({key: draw(_odd)})
        return b"{" + first[1:-1] + b"," + msgspec.json.encode(value)[1:]
    if style == 3:
        return b" \n" + json.dumps(value, ensure_ascii=False, indent=1).encode() + b"\t"
    return msgspec.json.encode(value)


@st.composite
def message_values(draw: st.DrawFn) -> bytes | None:
    """One message value: an encoded envelope, arbitrary bytes, an edge case, or no value."""
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.binary(max_size=300))
    if kind == 1:
        return draw(st.sampled_from([None, b"", b"{}", b"[]", b"null", b"\xff", b"{" * 600 + b"}"]))
    raw = draw(encoded(draw(envelopes())))
    if kind == 2:  # broken in flight
        cut = draw(st.integers(0, len(raw)))
        return raw[:cut] + draw(st.binary(max_size=3))
    if kind == 3:  # too large
        return raw + b" " * (MAX_BYTES - len(raw) + draw(st.integers(-1, 1)))
    return raw


@st.composite
def rfc3339(draw: st.DrawFn) -> str:
    """An RFC 3339 time, mostly valid and in range, sometimes just past a limit."""
    if draw(st.integers(0, 3)) == 0:  # right at the ends of the valid range
        edge_ms = draw(st.sampled_from([946_684_800_000, NOW_MS + DAY_MS]))
        us = edge_ms * 1000 + draw(st.sampled_from([-1001, -1000, -1, 0, 1, 999, 1000, 1001]))
        offset_min = draw(st.sampled_from([0, 120, -300, 330, 1439, -1439]))
        local = datetime(1970, 1, 1) + timedelta(microseconds=us + offset_min * 60_000_000)
        sign = "-" if offset_min < 0 else "+"
        zone = f"{sign}{abs(offset_min) // 60:02d}:{abs(offset_min) % 60:02d}"
        return local.strftime("%Y-%m-%dT%H:%M:%S") + f".{local.microsecond:06d}" + zone
    year = draw(st.integers(1999, 2026) | st.sampled_from([1, 1970, 2100, 9999]))
    month = draw(st.integers(1, 12) | st.sampled_from([0, 13]))
    day = draw(st.integers(1, 28) | st.sampled_from([0, 29, 30, 31, 32]))
    hms = draw(
        st.tuples(*(st.integers(0, top) | st.sampled_from([top - 1, top]) for top in (24, 60, 60)))
    )
    frac = draw(
        st.sampled_from(["", "."])
        | st.text("0123456789", min_size=1, max_size=12).map(lambda digits: "." + digits)
    )
    sep = draw(st.sampled_from(["T", "t", " "]))
    zone = draw(
        st.sampled_from(["Z", "z"])
        | st.builds(
            lambda s, h, m: f"{s}{h:02d}:{m:02d}",
            st.sampled_from("+-"),
            st.sampled_from([0, 1, 5, 23, 24]),
            st.sampled_from([0, 30, 59, 60]),
        )
    )
    return (
        f"{year:04d}-{month:02d}-{day:02d}{sep}{hms[0]:02d}:{hms[1]:02d}:{hms[2]:02d}{frac}{zone}"
    )


@st.composite
def payload_mutations(draw: st.DrawFn, payload: dict[str, Any]) -> dict[str, Any]:
    """`payload` with one field (or one field of one item) changed, removed or added."""
    mutated = dict(payload)
    values = (
        st.integers(-2, 3)
        | _numbers
        | _strings
        | st.sampled_from(["EUR", "eur", "EU", "ZZ", "FR", None, True, [], {}])
        | _odd
    )
    items = mutated.get("items")
    if isinstance(items, list) and items and draw(st.booleans()):
        i = draw(st.integers(0, len(items) - 1))
        item = dict(items[i])
        key = draw(st.sampled_from([*sorted(item), "unit_price", "quantity", "note"]))
        if draw(st.integers(0, 4)) == 0:
            item.pop(key, None)
        else:
            item[key] = draw(values)
        mutated["items"] = [*items[:i], item, *items[i + 1 :]]
        return mutated
    key = draw(st.sampled_from([*sorted(mutated), "referrer", "country", "new_field"]))
    if draw(st.integers(0, 4)) == 0:
        mutated.pop(key, None)
    else:
        mutated[key] = draw(values)
    return mutated
