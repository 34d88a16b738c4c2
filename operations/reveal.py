"""Reading sealed fields back: an event's payload with its sensitive values decrypted.

For operators who hold the master key (docs/privacy.md). A field whose subject was erased
cannot be read by anyone: `KeyErased` says so, rather than a cryptographic failure.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

import msgspec
import polars as pl

from eventlake import lake, subject_keys
from eventlake.catalog import BRONZE_EVENTS
from eventlake.errors import EventlakeError, LakeError
from eventlake.field_crypto import (
    DataKey,
    KeyErased,
    MasterKey,
    PrivacyError,
    is_token,
    open_token,
    token_key_id,
)
from eventlake.lake import DeltaTable
from eventlake.settings import Settings
from eventlake.subject_keys import read_keys


def reveal(settings: Settings, event_id: str, *, day: date | None = None) -> dict[str, Any]:
    """Returns the payload of event `event_id` (its earliest-ingested copy) with every sealed
    field decrypted.

    Args:
        day: the event's date, when known: only that partition is read.

    Raises:
        ConfigError: no master key is configured.
        EventlakeError: no such event in bronze/events.
        KeyErased: a field's subject was erased.
        PrivacyError: a field does not open (altered, or of another master key).
    """
    master = subject_keys.master_key_of(settings)
    if lake.open_table(settings, BRONZE_EVENTS) is None:
        raise LakeError(f"no {BRONZE_EVENTS.name} under {settings.lake_root}")
    events = lake.scan_days(settings, BRONZE_EVENTS, day, day) if day else None
    try:
        found = (
            (events if events is not None else lake.scan(settings, BRONZE_EVENTS))
            .filter(pl.col("event_id") == event_id)
            .sort("ingested_at", "kafka_topic", "kafka_partition", "kafka_offset")
            .select("payload")
            .head(1)
            .collect()
        )
    except pl.exceptions.PolarsError as err:
        raise LakeError(f"{BRONZE_EVENTS.name}: cannot read: {err}") from err
    if found.is_empty():
        where = f" on {day}" if day else ""
        raise EventlakeError(f"no event {event_id!r} in {BRONZE_EVENTS.name}{where}")
    keys_table = subject_keys.open_keys(settings)
    return reveal_payload(keys_table, master, event_id, found.item())


def reveal_payload(
    keys_table: DeltaTable | None, master: MasterKey, event_id: str, payload_text: str
) -> dict[str, Any]:
    """Returns the payload (JSON text) of `event_id` with its sealed fields decrypted.

    Raises:
        KeyErased: a field's data key is no longer in the key table.
        PrivacyError: a field does not open.
    """
    payload = msgspec.json.decode(payload_text)
    sealed = {name: value for name, value in payload.items() if is_token(value)}
    if not sealed:
        return payload
    wanted = {token_key_id(token) for token in sealed.values()}
    keys = {} if keys_table is None else keys_by_id(keys_table, master, wanted)
    for name, token in sealed.items():
        key_id = token_key_id(token)
        key = keys.get(key_id)
        if key is None:
            raise KeyErased(
                f"event {event_id!r}: field {name!r} cannot be decrypted: its data key "
                f"{key_id} was erased (crypto-shredded)"
            )
        payload[name] = msgspec.json.decode(open_token(key, event_id, name, token))
    return payload


def keys_by_id(table: DeltaTable, master: MasterKey, key_ids: Iterable[str]) -> dict[str, DataKey]:
    """Returns the data keys of `key_ids` that the table still holds (erased ones are absent).

    Raises:
        PrivacyError: a key is wrapped under another master key.
    """
    rows = read_keys(table, pl.col("key_id").is_in(list(key_ids)))
    found = {}
    for subject, key_id, master_id, wrapped in rows.select(
        "subject_id", "key_id", "master_key_id", "wrapped_key"
    ).iter_rows():
        if master_id != master.key_id:
            raise PrivacyError(
                f"key {key_id} is wrapped under master key {master_id}, not the configured "
                f"{master.key_id}"
            )
        found[key_id] = master.unwrap(subject, key_id, wrapped)
    return found
