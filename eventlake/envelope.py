"""The wire format (docs/wire-format.md): one Kafka message value in, a valid event or a rejection out.

`parse` never raises: whatever the bytes, it returns an `Event` or a `Rejection` with one of the
codes of docs/wire-format.md, so a bad message can always be dead-lettered and never stops ingestion.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal, get_args

import msgspec

from eventlake.registry import REGISTRY, validate_payload

RejectionCode = Literal[
    "not_json",
    "not_an_object",
    "missing_field",
    "invalid_field",
    "timestamp_out_of_range",
    "unknown_schema_version",
    "payload_invalid",
    "too_large",
]
REJECTION_CODES: tuple[RejectionCode, ...] = get_args(RejectionCode)
REQUIRED_FIELDS = ("event_id", "event_type", "aggregate_id", "timestamp", "payload")
KNOWN_FIELDS = frozenset((*REQUIRED_FIELDS, "schema_version", "metadata"))

MIN_EVENT_TIME_MS = 946_684_800_000  # 2000-01-01T00:00:00Z
MAX_FUTURE_MS = 24 * 3600 * 1000
_EVENT_TYPE = re.compile(r"[a-z][a-z0-9_]{0,63}")
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))"
)
_DECODER = msgspec.json.Decoder()
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Event:
    """A message that passed validation; `payload` is as sent (not upcast)."""

    event_id: str
    event_type: str
    schema_version: int
    aggregate_id: str
    event_time_us: int
    payload: dict[str, Any]
    metadata: dict[str, Any] | None
    extra: dict[str, Any] | None  # unknown top-level keys, kept
    registered: bool


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a message was rejected: a rejection code (docs/wire-format.md) and a one-line detail."""

    code: RejectionCode
    detail: str


def to_json(value: Any) -> str:
    """Returns compact JSON text for a decoded JSON value (round-trips big integers)."""
    return msgspec.json.encode(value).decode()


def parse(raw: bytes | None, *, now_ms: int, max_bytes: int = 1024 * 1024) -> Event | Rejection:
    """Returns the event in `raw`, or the reason it is rejected. Never raises."""
    if raw is None or len(raw) == 0:
        return Rejection("not_json", "empty message")
    if len(raw) > max_bytes:
        return Rejection("too_large", f"{len(raw)} bytes is over the limit of {max_bytes}")
    try:
        obj = _DECODER.decode(raw)
    except (msgspec.MsgspecError, UnicodeDecodeError, RecursionError) as err:
        return Rejection("not_json", _one_line(str(err)) or "not parseable")
    if not isinstance(obj, dict):
        return Rejection("not_an_object", f"top-level JSON value is a {_kind(obj)}")
    return _parse_object(obj, now_ms)


def _parse_object(obj: dict[str, Any], now_ms: int) -> Event | Rejection:
    missing = [name for name in REQUIRED_FIELDS if name not in obj]
    if missing:
        return Rejection("missing_field", f"missing {', '.join(missing)}")

    event_id, event_type, aggregate_id = obj["event_id"], obj["event_type"], obj["aggregate_id"]
    if not isinstance(event_id, str) or not 1 <= len(event_id) <= 128:
        return Rejection("invalid_field", "event_id must be a string of 1-128 characters")
    if not isinstance(event_type, str) or not _EVENT_TYPE.fullmatch(event_type):
        return Rejection("invalid_field", "event_type must match [a-z][a-z0-9_]{0,63}")
    if not isinstance(aggregate_id, str) or not 1 <= len(aggregate_id) <= 256:
        return Rejection("invalid_field", "aggregate_id must be a string of 1-256 characters")
    payload = obj["payload"]
    if not isinstance(payload, dict):
        return Rejection("invalid_field", f"payload must be an object, got a {_kind(payload)}")
    metadata = obj.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        return Rejection("invalid_field", f"metadata must be an object, got a {_kind(metadata)}")
    version = obj.get("schema_version")
    if version is None:
        version = 1
    elif type(version) is not int or version < 1:
        return Rejection("invalid_field", "schema_version must be an integer >= 1")

    event_time = _event_time_us(obj["timestamp"])
    if isinstance(event_time, Rejection):
        return event_time
    if not MIN_EVENT_TIME_MS <= event_time // 1000 <= now_ms + MAX_FUTURE_MS:
        return Rejection(
            "timestamp_out_of_range",
            f"timestamp {_iso(event_time)} is not between 2000-01-01 and now + 24 h",
        )

    event_kind = REGISTRY.get(event_type)
    if event_kind is not None:
        if version not in event_kind.versions:
            known = ", ".join(str(v) for v in sorted(event_kind.versions))
            return Rejection(
                "unknown_schema_version",
                f"{event_type} has no version {version} (known: {known})",
            )
        detail = validate_payload(event_kind, version, payload)
        if detail:
            return Rejection("payload_invalid", f"{event_type} v{version}: {detail}")

    extra = {k: v for k, v in obj.items() if k not in KNOWN_FIELDS} or None
    return Event(
        event_id=event_id,
        event_type=event_type,
        schema_version=version,
        aggregate_id=aggregate_id,
        event_time_us=event_time,
        payload=payload,
        metadata=metadata,
        extra=extra,
        registered=event_kind is not None,
    )


def _event_time_us(value: Any) -> int | Rejection:
    """Returns the event time in microseconds since the epoch, or why it is rejected."""
    if type(value) is int:
        if abs(value) > 10**15:  # far outside any valid range; keeps the arithmetic small
            return Rejection("timestamp_out_of_range", f"timestamp {value} ms is out of range")
        return value * 1000
    if isinstance(value, str):
        m = _RFC3339.fullmatch(value)
        if not m:
            return Rejection(
                "invalid_field",
                "timestamp must be integer epoch milliseconds or an RFC 3339 string with offset",
            )
        year, month, day, hour, minute, second, frac, zulu, sign, oh, om = m.groups()
        try:
            if zulu:
                tz = UTC
            else:
                if int(oh) > 23 or int(om) > 59:
                    raise ValueError("offset out of range")
                delta = timedelta(hours=int(oh), minutes=int(om))
                tz = timezone(-delta if sign == "-" else delta)
            micros = int((frac or "0")[:6].ljust(6, "0"))
            moment = datetime(
                int(year), int(month), int(day), int(hour), int(minute), int(second), micros, tz
            )
        except (ValueError, OverflowError):
            return Rejection("invalid_field", f"timestamp {value[:40]!r} is not a valid date-time")
        return (moment - _EPOCH) // timedelta(microseconds=1)
    return Rejection(
        "invalid_field",
        f"timestamp must be integer epoch milliseconds or an RFC 3339 string, got a {_kind(value)}",
    )


def _iso(us: int) -> str:
    try:
        return (_EPOCH + timedelta(microseconds=us)).isoformat()
    except OverflowError:
        return f"{us // 1000} ms"


def _kind(value: Any) -> str:
    return {
        dict: "object",
        list: "list",
        str: "string",
        bool: "boolean",
        int: "number",
        float: "number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def _one_line(text: str) -> str:
    return " ".join(text.split())[:200]
