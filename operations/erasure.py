"""Erasing a subject (crypto-shredding): its data keys and its dead letters, physically gone.

The event log is never rewritten: deleting a subject's data keys makes its sealed fields there
unreadable, while everything else in its events (and every read model) stays as it was. Two
places hold more than ciphertext, and both are cleaned here: the key table (the keys
themselves) and bronze/dead_letters (raw messages as received, plaintext included). Deleted
rows survive in the files older table versions read (Delta time travel), so both tables are
vacuumed at once afterwards (docs/privacy.md: what this does and does not reach).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import polars as pl

from eventlake import lake, subject_keys
from eventlake.catalog import BRONZE_DEAD_LETTERS, PRIVACY_SUBJECT_KEYS, TableSpec
from eventlake.errors import LakeError
from eventlake.lake import CommitFailedError, DeltaError, DeltaTable
from eventlake.settings import Settings
from eventlake.subject_keys import read_keys
from operations.maintenance import MAINTENANCE_KEY

log = logging.getLogger(__name__)

# Files no commit references (tombstones dropped from the log after the table's
# deletedFileRetentionDuration, crashed writes) are deleted when older than this: a writer's
# file that is not committed yet is seconds old, and must be left alone.
ORPHAN_HOURS = 1
_ATTEMPTS = 5


@dataclass(frozen=True)
class Erasure:
    """What erasing one subject did (or, in a dry run, would do)."""

    subject_id: str
    keys: int  # data keys deleted from privacy/subject_keys
    dead_letters: int  # rejected messages deleted from bronze/dead_letters
    files_removed: int  # files vacuumed from both tables


def erase_subject(settings: Settings, subject_id: str, *, dry_run: bool = False) -> Erasure:
    """Returns what erasing `subject_id` did: its keys and dead letters deleted and vacuumed.

    Safe to run again: a run that failed half-way is finished by the next.

    Raises:
        LakeError: a table cannot be read or written.
    """
    keys_table = subject_keys.open_keys(settings)
    dead_table = lake.open_table(settings, BRONZE_DEAD_LETTERS)
    if keys_table is None and dead_table is None:
        raise LakeError(
            f"no {PRIVACY_SUBJECT_KEYS.name} and no {BRONZE_DEAD_LETTERS.name} under "
            f"{settings.lake_root}: is that the lake?"
        )
    keys = 0
    if keys_table is not None:
        keys = _delete_keys(keys_table, subject_id, dry_run=dry_run)
    dead_letters = 0
    if dead_table is not None:
        dead_letters = _erase_dead_letters(dead_table, subject_id, dry_run=dry_run)
    files = 0
    if not dry_run:
        for table, spec in ((keys_table, PRIVACY_SUBJECT_KEYS), (dead_table, BRONZE_DEAD_LETTERS)):
            if table is not None:
                files += vacuum_now(table, spec)
    return Erasure(subject_id, keys, dead_letters, files)


def vacuum_now(table: DeltaTable, spec: TableSpec) -> int:
    """Returns how many files it deleted: every file the latest version does not read.

    Readers still scanning an older version of the table fail (and retry on the new one).
    """
    props = lake.commit_properties({MAINTENANCE_KEY: "vacuum"})
    try:
        lake.refresh(table, spec)
        removed = table.vacuum(  # files removed by commits, however recently
            retention_hours=0, dry_run=False, enforce_retention_duration=False,
            commit_properties=props,
        )  # fmt: skip
        orphans = table.vacuum(  # files no commit mentions any more
            retention_hours=ORPHAN_HOURS, dry_run=False, enforce_retention_duration=False,
            full=True, commit_properties=props,
        )  # fmt: skip
    except (DeltaError, OSError) as err:
        raise LakeError(f"{spec.name}: vacuum failed: {err}") from err
    return len(removed) + len(orphans)


def dead_letter_match(subject_id: str) -> pl.Expr:
    """Returns the test of a dead letter of the subject: keyed by its id, or holding it as a
    JSON string (escaped or not) anywhere in the raw bytes."""
    needles = {json.dumps(subject_id).encode(), json.dumps(subject_id, ensure_ascii=False).encode()}
    match = pl.col("key") == pl.lit(subject_id.encode(), pl.Binary)
    for needle in sorted(needles):
        match = match | pl.col("raw").bin.contains(needle)
    return match.fill_null(False)


def _delete_keys(table: DeltaTable, subject_id: str, *, dry_run: bool) -> int:
    """Returns how many data keys of the subject it deleted (would delete, in a dry run)."""
    where = f"subject_id = {sql_text(subject_id)}"

    def keys() -> pl.DataFrame:
        return read_keys(table, pl.col("subject_id") == subject_id)

    return _delete_all(table, PRIVACY_SUBJECT_KEYS, keys, lambda _: where, dry_run=dry_run)


def _erase_dead_letters(table: DeltaTable, subject_id: str, *, dry_run: bool) -> int:
    """Returns how many dead letters of the subject it deleted (would delete, in a dry run)."""

    def hits() -> pl.DataFrame:
        try:
            return (
                pl.scan_delta(table)
                .filter(dead_letter_match(subject_id))
                .select("kafka_topic", "kafka_partition", "kafka_offset")
                .collect()
            )
        except (DeltaError, OSError, pl.exceptions.PolarsError) as err:
            raise LakeError(f"{BRONZE_DEAD_LETTERS.name}: cannot read: {err}") from err

    def where(found: pl.DataFrame) -> str:
        return _positions_predicate(found.iter_rows())

    return _delete_all(table, BRONZE_DEAD_LETTERS, hits, where, dry_run=dry_run)


def _delete_all(
    table: DeltaTable,
    spec: TableSpec,
    find: Callable[[], pl.DataFrame],
    predicate: Callable[[pl.DataFrame], str],
    *,
    dry_run: bool,
) -> int:
    """Returns how many rows it deleted: those `find` returns at the latest version, deleted
    by `predicate(rows)`, looked for again after each delete (rows written meanwhile go too).
    A delete that loses to a concurrent commit (an ingester appending) is tried again.

    Raises:
        LakeError: the delete kept losing to concurrent commits, or failed.
    """
    deleted = 0
    for _ in range(_ATTEMPTS):
        lake.refresh(table, spec)
        found = find()
        if found.is_empty() or dry_run:
            return deleted + found.height
        try:
            metrics = table.delete(predicate(found))
        except CommitFailedError as err:
            log.info("%s: delete lost to a concurrent commit, retrying: %s", spec.name, err)
            continue
        except DeltaError as err:
            raise LakeError(f"{spec.name}: delete failed: {err}") from err
        deleted += int(metrics.get("num_deleted_rows", 0))
    raise LakeError(f"{spec.name}: the delete lost to concurrent commits {_ATTEMPTS} times")


def sql_text(value: str) -> str:
    """Returns `value` as a SQL string literal (for delta-rs predicates)."""
    return "'" + value.replace("'", "''") + "'"


def _positions_predicate(rows: Iterable[tuple[str, int, int]]) -> str:
    """Returns a SQL predicate that matches exactly these Kafka positions."""
    by_partition: dict[tuple[str, int], list[int]] = {}
    for topic, partition, offset in rows:
        by_partition.setdefault((topic, partition), []).append(offset)
    return " OR ".join(
        f"(kafka_topic = {sql_text(topic)} AND kafka_partition = {int(partition)} "
        f"AND kafka_offset IN ({', '.join(str(int(o)) for o in sorted(offsets))}))"
        for (topic, partition), offsets in sorted(by_partition.items())
    )
