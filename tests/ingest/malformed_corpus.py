"""A corpus of malformed messages: several per rejection code of docs/wire-format.md, each with the code
`envelope.parse` must give it, plus messages that look wrong but are valid. Raw bytes, as a
buggy producer would send them."""

from __future__ import annotations

MAX_BYTES = 64 * 1024  # the tests' EVENTLAKE_MAX_MESSAGE_BYTES

_OK = (
    b'{"event_id":"ok-%d","event_type":"login","aggregate_id":"u1","timestamp":1750000000000,'
    b'"payload":{"user_id":"u1"}}'
)


def _env(**fields: bytes) -> bytes:
    base = {
        "event_id": b'"c-1"',
        "event_type": b'"login"',
        "aggregate_id": b'"u1"',
        "timestamp": b"1750000000000",
        "payload": b'{"user_id":"u1"}',
    }
    base.update(fields)
    return b"{" + b",".join(b'"%s":%s' % (k.encode(), v) for k, v in base.items() if v) + b"}"


CORPUS: list[tuple[str, bytes | None]] = [
    ("not_json", None),  # a tombstone: no value at all
    ("not_json", b""),
    ("not_json", b"   "),
    ("not_json", b"\xff\xfe\x00{"),
    ("not_json", b'{"event_id": "a'),
    ("not_json", b"event_type=login&user=u1"),
    ("not_json", b'{"event_id":"\xc3\x28","event_type":"login"}'),  # not UTF-8
    ("not_json", _env(payload=b'{"n":1e400}')),
    ("not_json", _env(payload=b'{"s":"\\ud800"}')),  # a lone surrogate
    ("not_json", _env() + b"}"),  # trailing garbage
    ("not_json", b"\xef\xbb\xbf" + _env()),  # a byte order mark
    ("not_json", _env(payload=b"[" * 2000 + b"]" * 2000)),  # nested beyond the limit
    ("not_an_object", b"[]"),
    ("not_an_object", b'[{"event_id":"a"}]'),
    ("not_an_object", b'"login"'),
    ("not_an_object", b"42"),
    ("not_an_object", b"null"),
    ("not_an_object", b"true"),
    ("missing_field", b"{}"),
    ("missing_field", _env(event_id=b"")),
    ("missing_field", _env(payload=b"")),
    ("missing_field", _env(timestamp=b"")),
    ("invalid_field", _env(event_id=b'""')),
    ("invalid_field", _env(event_id=b"null")),
    ("invalid_field", _env(event_id=b'"' + b"x" * 129 + b'"')),
    ("invalid_field", _env(event_type=b'"Login"')),
    ("invalid_field", _env(event_type=b'"login\\n"')),
    ("invalid_field", _env(aggregate_id=b"7")),
    ("invalid_field", _env(payload=b'["u1"]')),
    ("invalid_field", _env(metadata=b'"web"')),
    ("invalid_field", _env(schema_version=b'"1"')),
    ("invalid_field", _env(schema_version=b"0")),
    ("invalid_field", _env(schema_version=b"true")),
    ("invalid_field", _env(timestamp=b"1.75e12")),
    ("invalid_field", _env(timestamp=b'"2025-06-15 12:00:00"')),  # no offset
    ("invalid_field", _env(timestamp=b'"2025-02-30T12:00:00Z"')),
    ("invalid_field", _env(timestamp=b'"yesterday"')),
    ("invalid_field", _env(event_type=b'"thing"', schema_version=b"1099511627776")),  # > 32 bits
    ("timestamp_out_of_range", _env(timestamp=b"631152000000")),  # 1990
    ("timestamp_out_of_range", _env(timestamp=b"946684799999")),  # 1 ms before 2000
    ("timestamp_out_of_range", _env(timestamp=b'"1999-12-31T23:59:59Z"')),
    ("timestamp_out_of_range", _env(timestamp=b"99999999999999999999")),
    ("timestamp_out_of_range", _env(timestamp=b'"2999-01-01T00:00:00+01:00"')),
    ("unknown_schema_version", _env(schema_version=b"2")),
    ("unknown_schema_version", _env(event_type=b'"order_placed"', schema_version=b"9")),
    ("payload_invalid", _env(payload=b"{}")),
    ("payload_invalid", _env(payload=b'{"user_id":5}')),
    ("payload_invalid", _env(payload=b'{"user_id":"u1","user_id":null}')),  # the last one wins
    (
        "payload_invalid",
        _env(event_type=b'"add_to_cart"', payload=b'{"user_id":"u","product_id":"p","quantity":0}'),
    ),
    (
        "payload_invalid",
        _env(
            event_type=b'"user_signup"',
            schema_version=b"2",
            payload=b'{"user_id":"u","signup_source":"web","plan":"free","country":"XX"}',
        ),
    ),
    (
        "payload_invalid",
        _env(
            event_type=b'"order_placed"',
            schema_version=b"2",
            payload=b'{"user_id":"u","order_id":"o","total_amount":99,'
            b'"currency":"EUR","items":[{"product_id":"p","quantity":1,'
            b'"unit_price":5}]}',
        ),
    ),
    ("too_large", _env(payload=b'{"user_id":"u1","blob":"' + b"x" * MAX_BYTES + b'"}')),
    ("too_large", b"x" * (MAX_BYTES + 1)),
    # valid, though they may look odd
    ("ok", _OK % 1),
    ("ok", _env(event_id=b'"\\u00e9v\\u00e9nement"', metadata=b"null", schema_version=b"null")),
    (
        "ok",
        _env(
            event_type=b'"coupon_redeemed"',
            schema_version=b"7",
            payload=b'{"n":123456789012345678901234567890}',
        ),
    ),
    ("ok", _env(timestamp=b'"2025-06-15t12:00:00.123456789z"', tenant=b'"acme"')),
    ("ok", b" \n" + _OK % 2 + b"\t"),
    ("ok", _env(payload=b'{"user_id":5,"user_id":"u1"}')),  # the last one wins
]
