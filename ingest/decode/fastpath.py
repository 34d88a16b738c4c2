"""The fast decode-and-validate path: a batch of message values in, the events it is sure of out.

It accepts a message only when `envelope.parse` would accept it, and then with the very values
`parse` gives; every other message (all rejections, and whatever it is unsure of) is left to
`parse`, one message at a time. `tests/ingest/test_ingest_fastpath.py` holds it to that.

How it is fast (msgspec into a Struct with the payload left raw is several times json.loads;
docs/benchmarks.md, "Ingest"):
- the envelope is decoded by msgspec into a Struct whose constraints are `parse`'s envelope
  rules, checked in C (metadata decoded on the way, the payload left raw); unknown top-level
  keys make it defer (they are rare, and `parse` keeps them in `extra`);
- a registered payload goes through a typed decoder generated from the registry
  (`ingest.decode.payloads`), in C; when re-encoding it gives back the bytes received, those are the
  compact text bronze stores. Otherwise (another key order, spaces, escapes, extra fields) the
  payload is decoded generically, checked by the registry's own `validate_payload` and
  re-encoded;
- RFC 3339 timestamps and the event-time range are checked for the whole batch at once, in
  Polars (`ingest.decode.timestamps`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
import polars as pl

from eventlake.envelope import MAX_FUTURE_MS, MIN_EVENT_TIME_MS
from eventlake.registry import REGISTRY, validate_payload
from ingest.decode.payloads import TYPED
from ingest.decode.timestamps import rfc3339_us

_INT32_MAX = 2**31 - 1  # bronze stores schema_version as a 32-bit integer
# A value this long might nest deeply enough to reach the decoders' depth limit, which depends
# on the caller's stack depth: such a message is left to `parse` when it has many brackets.
_DEEP_BYTES = 512
_MAX_BRACKETS = 128
_DECODE_ERRORS = (msgspec.MsgspecError, RecursionError, UnicodeDecodeError, ValueError)


class _Envelope(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """The envelope of docs/wire-format.md with `parse`'s rules as msgspec constraints."""

    event_id: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    event_type: Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{0,63}\Z")]
    aggregate_id: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    timestamp: int | str
    payload: msgspec.Raw
    schema_version: Annotated[int, msgspec.Meta(ge=1, le=_INT32_MAX)] | None = None
    metadata: dict[str, Any] | None = None


_ENVELOPE = msgspec.json.Decoder(_Envelope)
_JSON = msgspec.json.Decoder()
_ENCODER = msgspec.json.Encoder()

FAST_SCHEMA = pl.Schema(
    {
        "index": pl.Int64(),  # position of the message in the batch
        "event_id": pl.String(),
        "event_type": pl.String(),
        "schema_version": pl.Int32(),
        "aggregate_id": pl.String(),
        "event_time": pl.Int64(),  # epoch microseconds
        "payload": pl.String(),
        "metadata": pl.String(),
        "registered": pl.Boolean(),
    }
)


@dataclass(frozen=True)
class FastResult:
    """What the fast path made of a batch: the events it accepted and the messages it left."""

    events: pl.DataFrame  # FAST_SCHEMA, one row per accepted message
    deferred: list[int]  # positions of the messages left to `envelope.parse`


def accept(values: Sequence[bytes | None], *, now_ms: int, max_bytes: int) -> FastResult:
    """Returns the events of `values` that `parse` accepts, and the positions of all the others.

    Args:
        values: Kafka message values.
        now_ms: the clock event times are checked against (as `parse`'s `now_ms`).
        max_bytes: longer values are left to `parse` (which rejects them as too_large).
    """
    decode_envelope, decode_json, encode_json = _ENVELOPE.decode, _JSON.decode, _ENCODER.encode
    registry_get, typed_get, raw_of = REGISTRY.get, TYPED.get, msgspec.Raw
    latest_ms = now_ms + MAX_FUTURE_MS
    rows: list[tuple[Any, ...]] = []
    accepted, deferred = rows.append, []
    for i, raw in enumerate(values):
        if (
            not raw
            or len(raw) > max_bytes
            or (len(raw) >= _DEEP_BYTES and raw.count(b"[") + raw.count(b"{") > _MAX_BRACKETS)
        ):
            deferred.append(i)
            continue
        try:
            env = decode_envelope(raw)
        except _DECODE_ERRORS:
            deferred.append(i)
            continue
        version = env.schema_version or 1
        # typed route: validated in C, and the bytes kept when they are already canonical
        payload_text = None
        decoder = typed_get((env.event_type, version))
        if decoder is not None:
            try:  # noqa: SIM105 (a context manager per message costs more than the decode)
                payload_text = encode_json(decoder(env.payload))
            except _DECODE_ERRORS:
                pass  # not of the typed shape: the generic route decides
            if payload_text is not None and raw_of(payload_text) != env.payload:
                payload_text = None
        if payload_text is None:  # generic route: the registry's own validation
            try:
                payload = decode_json(env.payload)
            except _DECODE_ERRORS:
                deferred.append(i)
                continue
            kind = registry_get(env.event_type)
            if type(payload) is not dict or (
                kind is not None
                and (
                    version not in kind.versions
                    or validate_payload(kind, version, payload) is not None
                )
            ):
                deferred.append(i)
                continue
            payload_text = encode_json(payload)
        timestamp = env.timestamp
        if type(timestamp) is int:
            if not MIN_EVENT_TIME_MS <= timestamp <= latest_ms:
                deferred.append(i)
                continue
            event_time, text = timestamp * 1000, None
        else:
            event_time, text = None, timestamp
        metadata = env.metadata
        accepted(
            (
                i,
                env.event_id,
                env.event_type,
                version,
                env.aggregate_id,
                event_time,
                payload_text,
                None if metadata is None else encode_json(metadata),
                text,
            )
        )
    # one row tuple per message, transposed at the end: the envelopes die young (kept alive,
    # they would cost more than the tuples)
    columns = list(zip(*rows, strict=True)) if rows else [()] * 9
    *fields, texts = columns
    names = [name for name in FAST_SCHEMA.names() if name != "registered"]
    frame: dict[str, Sequence[Any]] = dict(zip(names, fields, strict=True))
    frame["registered"] = [name in REGISTRY for name in frame["event_type"]]
    schema = {**FAST_SCHEMA, "payload": pl.Binary(), "metadata": pl.Binary()}
    events = pl.DataFrame(frame, schema=schema).with_columns(
        pl.col("payload", "metadata").cast(pl.String)
    )
    if any(t is not None for t in texts):
        events, late = _string_times(events, pl.Series(texts, dtype=pl.String), now_ms)
        deferred.extend(late)
    return FastResult(events, deferred)


def _string_times(
    events: pl.DataFrame, texts: pl.Series, now_ms: int
) -> tuple[pl.DataFrame, list[int]]:
    """Returns `events` with RFC 3339 times filled in, and the positions it could not keep."""
    first_us = MIN_EVENT_TIME_MS * 1000
    last_us = (now_ms + MAX_FUTURE_MS) * 1000 + 999  # `parse` compares whole milliseconds
    parsed = events.with_columns(event_time=pl.coalesce(pl.col("event_time"), rfc3339_us(texts)))
    ok = pl.col("event_time").is_between(first_us, last_us).fill_null(False)
    left = parsed.filter(~ok).get_column("index").to_list()
    return parsed.filter(ok), left
