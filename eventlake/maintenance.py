"""Lake housekeeping: compact the small files of closed days, checkpoint the log, vacuum.

Micro-batches leave many small files and log entries (one commit a second per table while
the ingester runs). Compaction rewrites a closed day's files into a few large ones in a
commit that changes no data; readers and the sensors recognise it by its commit metadata.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

import polars as pl
from deltalake import CommitProperties

from eventlake import lake
from eventlake.catalog import TableSpec
from eventlake.settings import Settings

MAINTENANCE_KEY = "eventlake.maintenance"  # commit metadata of commits that change no data
DEFAULT_VACUUM_RETENTION_HOURS = 7 * 24


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
        commit_properties=CommitProperties(custom_metadata={MAINTENANCE_KEY: "compact"}),
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
        commit_properties=CommitProperties(custom_metadata={MAINTENANCE_KEY: "vacuum"}),
    )
