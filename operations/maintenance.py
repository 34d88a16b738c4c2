"""Lake housekeeping: compact the small files of closed days, checkpoint the log, vacuum.

Micro-batches leave many small files and log entries (one commit a second per table while
the ingester runs). Compaction rewrites a closed day's files into a few large ones in a
commit that changes no data; readers and the sensors recognise it by its commit metadata.

Under a live ingester: a compaction never conflicts with an append (its removes change no
data, and appends only add files), so late events landing in the day being compacted simply
stay in their own new file. A compaction that loses to a commit that removed some of its
files (a retention delete, another compaction) is skipped: it changed no data, and the next
run does it again. Vacuum runs in delta-rs's "lite" mode: it deletes only files that a commit
removed more than the retention ago, never a file a writer has just written and not yet
committed (the "full" mode would, and must not be used while an ingester runs).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

import polars as pl

from eventlake import lake
from eventlake.catalog import TABLES, TableSpec
from eventlake.errors import LakeError
from eventlake.lake import CommitFailedError, DeltaError
from eventlake.settings import SAFE_VACUUM_RETENTION_HOURS, Settings

# Commit metadata of commits made by maintenance: compaction, vacuum (no data changed) and the
# retention delete (operations/log_retention.py); sensors must not take them for new data.
MAINTENANCE_KEY = "eventlake.maintenance"
DEFAULT_VACUUM_RETENTION_HOURS = SAFE_VACUUM_RETENTION_HOURS
DEFAULT_MIN_FILES = 8  # a closed day with fewer files is left alone

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Compaction:
    """What compacting one day partition did."""

    table: str
    day: date
    files_removed: int
    files_added: int


def files_per_day(settings: Settings, spec: TableSpec) -> dict[date, int]:
    """Returns the number of data files in each day partition of a day-partitioned table."""
    if spec.day_column is None or spec.day_column not in spec.partition_by:
        raise ValueError(f"{spec.name} is not partitioned by day")
    table = lake.open_table(settings, spec)
    if table is None:
        return {}
    actions = pl.DataFrame(table.get_add_actions(flatten=True))
    column = f"partition.{spec.day_column}"
    if actions.is_empty() or column not in actions.columns:
        return {}
    return dict(Counter(actions[column].cast(pl.Date).to_list()))


def days_to_compact(
    settings: Settings, spec: TableSpec, *, before: date, min_files: int = 8
) -> list[date]:
    """Returns the closed days (before `before`) holding at least `min_files` files."""
    counts = files_per_day(settings, spec)
    return sorted(d for d, n in counts.items() if d < before and n >= min_files)


def compact_day(settings: Settings, spec: TableSpec, day: date) -> Compaction:
    """Rewrites one day partition's files into as few as the target size allows."""
    table = lake.ensure_table(settings, spec)
    assert spec.day_column is not None
    metrics = table.optimize.compact(
        partition_filters=[(spec.day_column, "=", day.isoformat())],
        commit_properties=lake.commit_properties({MAINTENANCE_KEY: "compact"}),
    )
    return Compaction(
        spec.name, day, int(metrics.get("numFilesRemoved", 0)), int(metrics.get("numFilesAdded", 0))
    )


def checkpoint(settings: Settings, spec: TableSpec) -> int:
    """Writes a checkpoint of the table's log at its current version; returns that version."""
    table = lake.ensure_table(settings, spec)
    table.create_checkpoint()
    return table.version()


def vacuum(
    settings: Settings,
    spec: TableSpec,
    *,
    retention_hours: int = DEFAULT_VACUUM_RETENTION_HOURS,
    dry_run: bool = False,
) -> list[str]:
    """Deletes files no version younger than `retention_hours` needs; returns their paths.

    Time travel to versions older than the retention stops working for those files, and a
    reader still scanning such a version would fail: keep the retention above the longest
    query and the oldest "as of" anyone needs (default 7 days, Delta's own default).
    """
    table = lake.ensure_table(settings, spec)
    return table.vacuum(
        retention_hours=retention_hours,
        dry_run=dry_run,
        enforce_retention_duration=False,
        commit_properties=lake.commit_properties({MAINTENANCE_KEY: "vacuum"}),
    )


@dataclass(frozen=True)
class TablePlan:
    """What maintenance will do to one existing table: the closed days it compacts."""

    spec: TableSpec
    files: int  # data files now
    compact: tuple[date, ...]  # closed days with at least `min_files` files (day tables only)


@dataclass(frozen=True)
class CompactionReport:
    """What compacting a table's closed days did; days skipped lost to a concurrent commit."""

    table: str
    files_before: int
    files_after: int
    compactions: tuple[Compaction, ...]
    skipped: tuple[date, ...]


@dataclass(frozen=True)
class VacuumReport:
    """What vacuuming one table deleted."""

    table: str
    files: int
    bytes: int


def compacted_tables(tables: Iterable[TableSpec] = TABLES) -> tuple[TableSpec, ...]:
    """Returns the bronze and silver tables partitioned by day: the ones compaction looks at."""
    return tuple(
        t
        for t in tables
        if t.layer in ("bronze", "silver") and t.day_column and t.day_column in t.partition_by
    )


def existing_tables(settings: Settings, tables: Iterable[TableSpec] = TABLES) -> list[TableSpec]:
    """Returns the tables of `tables` that exist in the lake."""
    return [t for t in tables if lake.open_table(settings, t) is not None]


def file_count(settings: Settings, spec: TableSpec) -> int:
    """Returns the number of data files in the table's latest version (0 when it is absent)."""
    table = lake.open_table(settings, spec)
    return 0 if table is None else len(table.file_uris())


def plan(
    settings: Settings,
    tables: Sequence[TableSpec],
    *,
    today: date,
    min_files: int = DEFAULT_MIN_FILES,
) -> list[TablePlan]:
    """Returns the plan of each existing table of `tables` (in that order).

    Args:
        today: the current UTC day: only days before it are closed and compacted.
        min_files: the fewest files that make a closed day worth compacting.
    """
    compacted = {t.name for t in compacted_tables(tables)}
    plans = []
    for spec in existing_tables(settings, tables):
        days: list[date] = []
        if spec.name in compacted:
            days = days_to_compact(settings, spec, before=today, min_files=min_files)
        plans.append(TablePlan(spec, file_count(settings, spec), tuple(days)))
    return plans


def compact_days(settings: Settings, spec: TableSpec, days: Iterable[date]) -> CompactionReport:
    """Returns what compacting `days` of the table did; a day whose compaction lost to a
    concurrent commit is skipped (nothing changed; the next run compacts it)."""
    before = file_count(settings, spec)
    done, skipped = [], []
    for day in days:
        try:
            done.append(compact_day(settings, spec, day))
        except CommitFailedError as err:
            log.warning("%s %s: compaction skipped, lost to a concurrent commit: %s",
                        spec.name, day, reason(err))  # fmt: skip
            skipped.append(day)
        except DeltaError as err:
            raise LakeError(f"{spec.name}: compacting {day} failed: {reason(err)}") from err
    return CompactionReport(spec.name, before, file_count(settings, spec), tuple(done),
                            tuple(skipped))  # fmt: skip


def vacuum_table(
    settings: Settings, spec: TableSpec, *, retention_hours: int, dry_run: bool = False
) -> VacuumReport:
    """Returns what vacuuming the table with `retention_hours` deleted (or would delete).

    delta-rs lists every expired tombstone, including files an earlier vacuum already deleted
    (their tombstones stay in the log for a while): only the files still in storage count.
    """
    if lake.open_table(settings, spec) is None:
        return VacuumReport(spec.name, 0, 0)
    try:
        expired = vacuum(settings, spec, retention_hours=retention_hours, dry_run=True)
        present = lake.file_sizes(settings, spec, expired)
        if present and not dry_run:
            vacuum(settings, spec, retention_hours=retention_hours)
    except DeltaError as err:
        raise LakeError(f"{spec.name}: vacuum failed: {reason(err)}") from err
    return VacuumReport(spec.name, len(present), sum(present.values()))


def reason(err: BaseException) -> str:
    """Returns the first line of an error (delta-rs appends multi-line help and backtraces)."""
    return next((line.strip() for line in str(err).splitlines() if line.strip()), repr(err))
