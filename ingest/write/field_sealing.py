"""Sensitive payload fields sealed at ingest, before the bronze commit (docs/privacy.md).

The registry declares, per event type, the payload fields that hold personal data and the
field naming their subject (`registry.SENSITIVE_FIELDS`). With a master key configured, the
writer thread replaces each such value present in a batch by a token sealed under its
subject's data key (`eventlake.field_crypto`), so plaintext never reaches bronze/events. Only rows
of those event types whose payload mentions such a field are touched: the rest of the batch
is left as it is. Keys of new subjects are committed to privacy/subject_keys before the bronze
commit that uses them (a crash in between leaves an unused key, which is harmless).
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from typing import Any

import msgspec
import polars as pl

from eventlake.errors import EventlakeError
from eventlake.field_crypto import NONCE_BYTES, seal
from eventlake.registry import REGISTRY, SENSITIVE_FIELDS
from eventlake.settings import ENV_VARS, Settings
from eventlake.subject_keys import KeyRing, master_key_of
from ingest.write.bronze import BronzeWriter, Committed, SealedBatch

log = logging.getLogger(__name__)

_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode


class FieldSealer:
    """Seals the sensitive payload fields of bronze/events rows under their subjects' keys."""

    def __init__(self, keys: KeyRing) -> None:
        self.keys = keys
        self.types = sorted(SENSITIVE_FIELDS)
        self.needles = sorted(
            {f'"{name}"' for names in SENSITIVE_FIELDS.values() for name in names}
        )
        self.sealed = 0  # values sealed so far

    def seal(self, events: pl.DataFrame) -> pl.DataFrame:
        """Returns `events` (bronze/events rows) with every sensitive value sealed.

        Raises:
            LakeError: the key table cannot be read or written (worth retrying).
            PrivacyError: a stored key does not open with the master key.
        """
        if not self.types or events.is_empty():
            return events
        # The type test first: it is cheap, and leaves few payloads to search. Decoding made
        # the payload text canonical (msgspec's encoding: a key is never escaped), so a key
        # cannot hide from the search.
        rows = (
            events.select("event_id", "event_type", "payload")
            .with_row_index("index")
            .filter(pl.col("event_type").is_in(self.types))
            .filter(pl.col("payload").str.contains_any(self.needles))
        )
        if rows.is_empty():
            return events
        columns = (rows.get_column(c).to_list() for c in rows.columns)
        work: list[tuple[int, str, str, dict[str, Any], list[str]]] = []
        for index, event_id, event_type, text in zip(*columns, strict=True):
            payload = _decode(text)
            names = [n for n in SENSITIVE_FIELDS[event_type] if n in payload]
            if names:
                subject = payload.get(REGISTRY[event_type].subject)
                if not isinstance(subject, str):  # the registry makes it a required string
                    raise EventlakeError(
                        f"event {event_id!r}: {event_type} has sensitive fields but no string "
                        f"{REGISTRY[event_type].subject!r} to key them by"
                    )
                work.append((index, event_id, subject, payload, names))
        if not work:
            return events
        keys = self.keys.keys_for({subject for _, _, subject, _, _ in work})
        count = sum(len(names) for *_, names in work)
        nonces = os.urandom(NONCE_BYTES * count)  # one system call for the batch
        indices, texts, at = [], [], 0
        for index, event_id, subject, payload, names in work:
            key = keys[subject]
            for name in names:
                nonce = nonces[at : at + NONCE_BYTES]
                payload[name] = seal(key, event_id, name, _encode(payload[name]), nonce)
                at += NONCE_BYTES
            indices.append(index)
            texts.append(_encode(payload).decode())
        self.sealed += count
        column = events.get_column("payload").clone()
        column.scatter(indices, texts)
        return events.with_columns(column)


class SealingBronzeWriter(BronzeWriter):
    """A `BronzeWriter` that seals each batch's sensitive fields before committing it."""

    def __init__(self, settings: Settings, sealer: FieldSealer) -> None:
        super().__init__(settings)
        self.sealer = sealer
        # (as given, as sealed) of a batch whose commit failed: its retry reuses the sealed rows
        self._pending: tuple[SealedBatch, SealedBatch] | None = None

    def commit(self, batch: SealedBatch) -> Committed:
        """Returns what one attempt committed of `batch`, its sensitive fields sealed first
        (once per batch: a retried attempt reuses the sealed rows and the keys made)."""
        if self._pending is None or self._pending[0] is not batch:
            events = self.sealer.seal(batch.decoded.events)
            self._pending = (batch, replace(batch, decoded=replace(batch.decoded, events=events)))
        done = super().commit(self._pending[1])
        self._pending = None
        return done


def sealer_for(settings: Settings) -> FieldSealer | None:
    """Returns the sealer of the configured master key, or None (with a warning, when the
    registry declares sensitive fields) when there is none.

    Every writer of bronze/events rows must pass them through it (the ingester does, in
    `SealingBronzeWriter`).

    Raises:
        ConfigError: the master key is malformed, or the key table holds keys of another.
        LakeError: the lake cannot be reached.
    """
    if settings.privacy_key is None:
        if SENSITIVE_FIELDS:
            log.warning(
                "%s is not set: the sensitive payload fields %s are stored as received "
                "(see docs/privacy.md)",
                ENV_VARS["privacy_key"],
                _declared(),
            )
        return None
    master = master_key_of(settings)
    sealer = FieldSealer(KeyRing(settings, master))
    log.info("sealing the sensitive payload fields %s (master key %s)", _declared(), master.key_id)
    return sealer


def bronze_writer(settings: Settings) -> BronzeWriter:
    """Returns the ingester's bronze writer: sealing when a master key is configured.

    Raises:
        ConfigError: the master key is malformed, or the key table holds keys of another.
        LakeError: the lake cannot be reached.
    """
    sealer = sealer_for(settings)
    return BronzeWriter(settings) if sealer is None else SealingBronzeWriter(settings, sealer)


def _declared() -> str:
    return ", ".join(f"{t}.{n}" for t, names in sorted(SENSITIVE_FIELDS.items()) for n in names)
