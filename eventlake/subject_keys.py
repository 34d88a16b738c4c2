"""privacy/subject_keys: the subjects' data keys, wrapped under the master key.

`KeyRing` is what the ingester uses: each subject's key from a bounded in-memory cache, else
from the table, else made and committed there before any ciphertext that needs it is. Several
ingesters may make a key for the same new subject at once: each token names its key, so that is
harmless, and the earliest key of a subject is the one every reader picks afterwards. Erasure,
reveal and master-key rotation (operations/) read and write the table through the functions
here too (docs/privacy.md).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Collection
from datetime import UTC, datetime

import polars as pl

from eventlake import lake
from eventlake.catalog import PRIVACY_SUBJECT_KEYS as SPEC
from eventlake.errors import ConfigError, LakeError
from eventlake.field_crypto import DataKey, MasterKey, new_data_key
from eventlake.lake import CommitFailedError, DeltaError, DeltaTable
from eventlake.settings import ENV_VARS, Settings

log = logging.getLogger(__name__)

# Never `wrapped_key`: file statistics live in the Delta log, which erasure does not rewrite.
PROPERTIES = {"delta.dataSkippingStatsColumns": "subject_id,key_id,master_key_id,created_at"}
COMPACT_AT_FILES = 64  # each batch with new subjects adds a small file: merge them past this
DEFAULT_CACHE_SIZE = 50_000  # subjects; ~0.4 KB each
_READ_ERRORS = (DeltaError, OSError, pl.exceptions.PolarsError)


def master_key_of(settings: Settings) -> MasterKey:
    """Returns the configured master key.

    Raises:
        ConfigError: EVENTLAKE_PRIVACY_KEY is not set or not base64 of 32 bytes.
    """
    var = ENV_VARS["privacy_key"]
    if settings.privacy_key is None:
        raise ConfigError(f"{var} is not set: sensitive fields cannot be read without it")
    try:
        return MasterKey.from_text(settings.privacy_key)
    except ValueError as err:
        raise ConfigError(f"{var}: {err}") from None


def open_keys(settings: Settings) -> DeltaTable | None:
    """Returns the key table, or None when it does not exist (yet)."""
    return lake.open_table(settings, SPEC)


def ensure_keys(settings: Settings) -> DeltaTable:
    """Returns the key table, made if missing (its properties set if they are not)."""
    table = lake.ensure_table(settings, SPEC, properties=PROPERTIES)
    lake.ensure_properties(table, SPEC, PROPERTIES)
    return table


def read_keys(table: DeltaTable, where: pl.Expr | None = None) -> pl.DataFrame:
    """Returns the key rows of the table's loaded version (those matching `where`)."""
    try:
        frame = pl.scan_delta(table)
        if where is not None:
            frame = frame.filter(where)
        return frame.collect()
    except _READ_ERRORS as err:
        raise LakeError(f"{SPEC.name}: cannot read the keys: {err}") from err


def check_master(table: DeltaTable, master: MasterKey) -> None:
    """Checks every key of the table is wrapped under `master`.

    Raises:
        ConfigError: some are wrapped under another master key (the configured one is wrong,
            or a rotation did not finish).
    """
    ids = read_keys(table).get_column("master_key_id").unique().sort().to_list()
    others = [i for i in ids if i != master.key_id]
    if others:
        raise ConfigError(
            f"{SPEC.name} holds keys wrapped under master key {', '.join(others)}, but "
            f"{ENV_VARS['privacy_key']} is master key {master.key_id}: configure the right "
            "key, or finish the rotation (`eventlake privacy rotate-key`)"
        )


class KeyRing:
    """The data keys of subjects, for sealing: cached, else read, else made and committed."""

    def __init__(
        self, settings: Settings, master: MasterKey, *, cache_size: int = DEFAULT_CACHE_SIZE
    ) -> None:
        self.master, self.cache_size = master, cache_size
        self.table = ensure_keys(settings)
        check_master(self.table, master)
        self._cache: OrderedDict[str, DataKey] = OrderedDict()
        self.created = 0  # keys this ring committed

    def keys_for(self, subjects: Collection[str]) -> dict[str, DataKey]:
        """Returns the data key of each subject; keys made here are committed before returning.

        Raises:
            LakeError: the key table cannot be read or written (worth retrying).
            PrivacyError: a stored key does not open with the master key.
        """
        found: dict[str, DataKey] = {}
        missing = []
        for subject in subjects:
            key = self._cache.get(subject)
            if key is None:
                missing.append(subject)
            else:
                self._cache.move_to_end(subject)
                found[subject] = key
        if missing:
            loaded = self._load(missing)
            made = self._make([s for s in missing if s not in loaded])
            for subject, key in (*loaded.items(), *made.items()):
                found[subject] = key
                self._cache[subject] = key
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return found

    def _load(self, subjects: list[str]) -> dict[str, DataKey]:
        """Returns the earliest stored key of each subject that has one."""
        table = lake.refresh(self.table, SPEC)
        rows = (
            read_keys(
                table,
                pl.col("subject_id").is_in(subjects)
                & (pl.col("master_key_id") == self.master.key_id),
            )
            .sort("created_at", "key_id")
            .unique("subject_id", keep="first")
        )
        return {
            subject: self.master.unwrap(subject, key_id, wrapped)
            for subject, key_id, wrapped in rows.select(
                "subject_id", "key_id", "wrapped_key"
            ).iter_rows()
        }

    def _make(self, subjects: list[str]) -> dict[str, DataKey]:
        """Returns fresh keys for `subjects`, committed to the key table."""
        if not subjects:
            return {}
        made, rows = {}, []
        for subject in subjects:
            key_id, raw = new_data_key()
            wrapped = self.master.wrap(subject, key_id, raw)
            rows.append((subject, key_id, self.master.key_id, wrapped))
            made[subject] = self.master.unwrap(subject, key_id, wrapped)
        frame = pl.DataFrame(
            rows, schema=["subject_id", "key_id", "master_key_id", "wrapped_key"], orient="row"
        ).with_columns(created_at=pl.lit(datetime.now(UTC)))
        lake.append_to(self.table, SPEC, frame)
        self.created += len(made)
        if len(self.table.file_uris()) >= COMPACT_AT_FILES:
            self._compact()
        return made

    def _compact(self) -> None:
        try:
            self.table.optimize.compact()
        except (CommitFailedError, DeltaError) as err:  # optional: the next append tries again
            log.info("%s: compaction skipped: %s", SPEC.name, err)
