"""The columnar decode: a whole chunk of message values at once, in Polars (Rust, GIL released).

It takes the envelope most producers send, compact and in the order of docs/wire-format.md
(`event_id`, `event_type`, `aggregate_id`, `payload`, then `schema_version`, `metadata` if
any, `timestamp`), with plain strings (no escapes), a flat metadata object of strings, integers,
booleans and nulls, and a payload of a registered type with a typed decoder. Whatever else
(another key order, spaces, escapes, unknown keys, non-UTF-8 bytes, every rejection) is left to
the fast path (`ingest.decode.fastpath`), and from there to `envelope.parse`.

How it stays exact (`tests/ingest/test_ingest_columnar.py` holds it to `parse`):
- the envelope's grammar is two regular expressions, one anchored at the start (the three
  strings before the payload), one at the end (what follows the payload); the strings and the
  metadata they accept are text that decodes to itself and that `to_json` writes back as it is;
- the payload is what lies between them. It is accepted only when the typed decoder of its
  type and version (`ingest.decode.payloads`) takes it and re-encoding it gives back the same
  bytes. A JSON value ends where it ends, so a payload that decodes whole is the one `parse`
  sees: the message is then that envelope, and `parse` gives the values stored here;
- times and ranges are checked as `parse` checks them (`ingest.decode.timestamps`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
import polars as pl

from eventlake.envelope import MAX_FUTURE_MS, MIN_EVENT_TIME_MS
from ingest.decode.fastpath import FastResult
from ingest.decode.payloads import TYPED
from ingest.decode.timestamps import rfc3339_us

_INT32_MAX = 2**31 - 1
_TEXT = r'[^"\\\x00-\x1f]'  # a JSON string character that stands for itself
_SCALAR = rf'(?:"{_TEXT}*"|0|-?[1-9][0-9]{{0,17}}|true|false|null)'  # as to_json writes it
_PAIR = rf'"{_TEXT}*":{_SCALAR}'
_HEAD = (
    rf'^\{{"event_id":"(?P<event_id>{_TEXT}+)","event_type":"(?P<event_type>[a-z][a-z0-9_]{{0,63}})"'
    rf',"aggregate_id":"(?P<aggregate_id>{_TEXT}+)","payload":'
)
_HEAD_BYTES = len('{"event_id":"","event_type":"","aggregate_id":"","payload":')
_TAIL = (
    r'\}(?:,"schema_version":(?:null|[1-9][0-9]{0,9}))?'
    rf'(?:,"metadata":(?:null|\{{(?:{_PAIR}(?:,{_PAIR})*)?\}}))?'
    rf',"timestamp":(?:0|-?[1-9][0-9]{{0,15}}|"{_TEXT}*")\}}$'
)
_KEY = rf'"{_TEXT}*":'  # in a metadata object as _TAIL takes it, only keys are followed by ':'
_VERSION = r'^,"schema_version":(null|[0-9]+)'
_STAMP = rf',"timestamp":(0|-?[1-9][0-9]{{0,15}}|"{_TEXT}*")\}}$'
_STAMP_BYTES = len(',"timestamp":}')
_META_BYTES = len(',"metadata":')
_ERRORS = (msgspec.MsgspecError, RecursionError, UnicodeDecodeError, ValueError)


def accept(values: Sequence[bytes | None], *, now_ms: int, max_bytes: int) -> FastResult:
    """Returns the events of `values` that `parse` accepts and that this path is sure of, and
    the positions of all the others (for the fast path).

    Args:
        values: Kafka message values.
        now_ms: the clock event times are checked against (as `parse`'s `now_ms`).
        max_bytes: longer values are left to the others (which reject them as too_large).
    """
    raw = pl.Series("raw", values, dtype=pl.Binary)
    frame = (
        pl.DataFrame({"index": pl.int_range(len(values), eager=True), "raw": raw})
        .with_columns(message=_utf8(raw, values))
        .filter(pl.col("raw").bin.size() <= max_bytes)
        .with_columns(
            head=pl.col("message").str.extract_groups(_HEAD),
            tail_at=pl.col("message").str.find(_TAIL),  # the payload's last byte
        )
        .unnest("head")
        .drop("message")
        .drop_nulls(["event_id", "tail_at"])
    )
    first = (  # the payload's first byte
        _HEAD_BYTES
        + pl.col("event_id").str.len_bytes()
        + pl.col("event_type").str.len_bytes()
        + pl.col("aggregate_id").str.len_bytes()
    )
    frame = frame.with_columns(
        payload=pl.col("raw").bin.slice(first, pl.col("tail_at") + 1 - first),
        tail=pl.col("raw").bin.slice(pl.col("tail_at") + 1),
        ok=(pl.col("tail_at") > first)
        & (pl.col("event_id").str.len_chars() <= 128)
        & (pl.col("aggregate_id").str.len_chars() <= 256),
    ).filter("ok")
    frame = _event_times(_envelope_tail(frame.drop("raw", "tail_at", "ok")), now_ms)
    events = _typed_payloads(frame.drop("tail", "version", "stamp", "keys", "ms", "text")).select(
        pl.col("index"),
        pl.col("event_id"),
        pl.col("event_type"),
        pl.col("schema_version").cast(pl.Int32),
        pl.col("aggregate_id"),
        pl.col("event_time"),
        pl.col("payload").cast(pl.String),
        pl.col("metadata"),
        registered=pl.lit(True),
    )
    taken = set(events.get_column("index").to_list())
    return FastResult(events, [i for i in range(len(values)) if i not in taken])


def _envelope_tail(frame: pl.DataFrame) -> pl.DataFrame:
    """Returns the rows with `schema_version`, `metadata` and the timestamp (`ms` or `text`)
    read from `tail`, what follows the payload (`_TAIL` matched it whole)."""
    tail = pl.col("tail").cast(pl.String)
    stamp = pl.col("stamp")
    stamp_at = pl.col("tail").bin.size() - stamp.str.len_bytes() - _STAMP_BYTES
    meta_at = tail.str.find(',"metadata":', literal=True) + _META_BYTES
    quoted = stamp.str.starts_with('"')
    frame = (
        frame.with_columns(version=tail.str.extract(_VERSION, 1), stamp=tail.str.extract(_STAMP, 1))
        .with_columns(
            schema_version=pl.col("version").replace("null", None).cast(pl.Int64).fill_null(1),
            metadata=pl.col("tail").bin.slice(meta_at, stamp_at - meta_at).cast(pl.String),
            ms=pl.when(~quoted).then(stamp),
            text=pl.when(quoted).then(stamp.str.slice(1, stamp.str.len_chars() - 2)),
        )
        .with_columns(metadata=pl.col("metadata").replace("null", None))
        .with_columns(keys=pl.col("metadata").str.extract_all(_KEY).list.join("\n"))
    )
    twice = _twice(frame.get_column("keys"))
    return frame.filter(
        pl.col("schema_version") <= _INT32_MAX, ~pl.col("keys").is_in(twice).fill_null(False)
    )


def _utf8(raw: pl.Series, values: Sequence[bytes | None]) -> pl.Series:
    """Returns the values as text, null where they are not UTF-8."""
    try:
        return raw.cast(pl.String)
    except (pl.exceptions.ComputeError, pl.exceptions.InvalidOperationError):
        return pl.Series([_text(v) for v in values], dtype=pl.String)


def _text(value: bytes | None) -> str | None:
    try:
        return None if value is None else value.decode()
    except UnicodeDecodeError:
        return None


def _twice(keys: pl.Series) -> list[str]:
    """Returns the metadata key lists (keys joined by newlines, which a key cannot hold) with a
    key twice, which decoding would merge. Lists repeat: each distinct one is checked once."""
    lists = (k.split("\n") for k in keys.unique().drop_nulls().to_list())
    return ["\n".join(k) for k in lists if len(set(k)) < len(k)]


def _event_times(frame: pl.DataFrame, now_ms: int) -> pl.DataFrame:
    """Returns the rows whose time `parse` accepts, with `event_time` in epoch microseconds."""
    first_us = MIN_EVENT_TIME_MS * 1000
    last_us = (now_ms + MAX_FUTURE_MS) * 1000 + 999  # `parse` compares whole milliseconds
    ms = pl.col("ms").cast(pl.Int64)
    timed = frame.with_columns(
        event_time=pl.when(ms.is_between(MIN_EVENT_TIME_MS, now_ms + MAX_FUTURE_MS))
        .then(ms * 1000)
        .otherwise(None)
    )
    if timed.get_column("text").is_not_null().any():
        texts = timed.get_column("text")
        timed = timed.with_columns(
            event_time=pl.coalesce(pl.col("event_time"), rfc3339_us(texts).alias("event_time"))
        )
    return timed.filter(pl.col("event_time").is_between(first_us, last_us).fill_null(False))


def _typed_payloads(frame: pl.DataFrame) -> pl.DataFrame:
    """Returns the rows whose payload its typed decoder takes and re-encodes to the same bytes."""
    encode = msgspec.json.Encoder().encode
    kept = []
    for (event_type, version), rows in frame.group_by("event_type", "schema_version"):
        decode = TYPED.get((str(event_type), int(version)))
        if decode is None:
            continue  # an unregistered type, or a version with a cross-field check
        payloads = rows.get_column("payload").to_list()
        again = pl.Series([_canonical(decode, encode, p) for p in payloads], dtype=pl.Binary)
        kept.append(rows.filter((again == rows.get_column("payload")).fill_null(False)))
    return pl.concat(kept) if kept else frame.clear()


def _canonical(decode: Any, encode: Any, payload: bytes) -> bytes | None:
    """Returns the payload decoded by its typed decoder and encoded again, or None."""
    try:
        return encode(decode(payload))
    except _ERRORS:
        return None
