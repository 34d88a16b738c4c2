"""How current the lake is and which days it holds: commits, newest event, day spans.

Read from the Delta logs (file lists, statistics, commit history): no data file is opened
unless a table lacks what the log would say. A table that does not exist yet reads as empty;
one that exists but cannot be read raises `LakeError` with the table's name. No Streamlit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import polars as pl

from dashboard.data import reads
from dashboard.data.scope import Scope
from eventlake import lake
from eventlake.catalog import (
    BRONZE_EVENTS,
    BY_NAME,
    GOLD_DAILY_ACTIVE_USERS,
    GOLD_REVENUE_DAILY,
    TableSpec,
)
from eventlake.lake import open_table, scan
from eventlake.settings import Settings

OVERVIEW_TABLES: tuple[TableSpec, ...] = (GOLD_DAILY_ACTIVE_USERS, GOLD_REVENUE_DAILY)
FRESHNESS_TABLES: tuple[TableSpec, ...] = (BRONZE_EVENTS, *OVERVIEW_TABLES)

# Commits that rewrite files without changing what a table says: they do not make it "fresher".
_MAINTENANCE_OPERATIONS = frozenset({"OPTIMIZE", "VACUUM START", "VACUUM END", "FSCK"})
_HISTORY_LIMIT = 20  # bounded: the log of bronze/events grows with every micro-batch


@dataclass(frozen=True)
class TableFreshness:
    """When a table last changed: its newest data commit (UTC), or None if it does not exist."""

    table: str
    last_commit: datetime | None
    version: int | None

    def age_seconds(self, now: datetime) -> float | None:
        """Returns the seconds between the last commit and `now` (never negative)."""
        if self.last_commit is None:
            return None
        return max(0.0, (now - self.last_commit).total_seconds())


@dataclass(frozen=True)
class Freshness:
    """How current the lake is: one `TableFreshness` per table and the newest event time."""

    tables: tuple[TableFreshness, ...]
    newest_event: datetime | None  # max event_time in bronze/events, millisecond precision

    def table(self, name: str) -> TableFreshness | None:
        """Returns the entry of the table called `name` (a catalog name), if it was read."""
        return next((t for t in self.tables if t.table == name), None)


def data_range(settings: Settings, scope: Scope) -> tuple[date, date] | None:
    """Returns the first and last day any of the Overview's gold tables (`OVERVIEW_TABLES`) has
    a row for, or None when all are empty.

    Read as of the scope's moment, from the Delta log's file list (the day partitions of the
    files holding rows): no data file is opened. The scope's days and filters do not apply.
    """
    spans = [day_span(settings, spec, scope.as_of) for spec in OVERVIEW_TABLES]
    found = [span for span in spans if span is not None]
    if not found:
        return None
    return min(a for a, _ in found), max(b for _, b in found)


def day_span(
    settings: Settings, spec: TableSpec, as_of: datetime | None
) -> tuple[date, date] | None:
    """Returns the first and last day of the table's files holding rows (None: no rows)."""
    if spec.day_column is None:
        raise ValueError(f"{spec.name} has no day column")
    table = open_table(settings, spec, version=as_of)
    if table is None:
        return None
    files = lake.data_files(table, spec)
    column = f"partition.{spec.day_column}"
    if column not in files.columns:  # not partitioned by its day: read the column
        day = pl.col(spec.day_column)
        bounds = reads.collect(
            spec, pl.scan_delta(table).select(day.min().alias("a"), day.max().alias("b"))
        )
        return None if bounds["a"][0] is None else (bounds["a"][0], bounds["b"][0])
    if "num_records" in files.columns:
        files = files.filter(pl.col("num_records").fill_null(1) > 0)
    days = files[column].cast(pl.Date).drop_nulls()
    return None if days.is_empty() else (days.min(), days.max())  # type: ignore[return-value]


def last_commit(settings: Settings, spec: TableSpec) -> TableFreshness:
    """Returns the time and version of the table's newest commit that changed its data.

    Compaction and vacuum commits are skipped; if the bounded history holds only those, the
    newest commit counts.
    """
    return last_data_commit(spec, open_table(settings, spec))


def last_data_commit(spec: TableSpec, table: lake.DeltaTable | None) -> TableFreshness:
    """Returns `last_commit` of a table already open at its latest version (None: absent)."""
    if table is None:
        return TableFreshness(spec.name, None, None)
    history = lake.history(table, spec, _HISTORY_LIMIT)
    if not history:
        return TableFreshness(spec.name, None, table.version())
    data_commits = [h for h in history if h.get("operation") not in _MAINTENANCE_OPERATIONS]
    newest = max(data_commits or history, key=lambda h: int(h.get("version", -1)))
    return TableFreshness(spec.name, reads.history_time(newest), int(newest.get("version", -1)))


def newest_event_time(settings: Settings, scope: Scope) -> datetime | None:
    """Returns the newest event_time in bronze/events now, or None when it holds no events.

    The latest version is read whatever the scope (today's figures go by it). Read from the Delta log's per-file statistics (no data file is opened), which keep
    milliseconds; files written without statistics fall back to a scan of the newest day.
    """
    spec = BRONZE_EVENTS
    table = open_table(settings, spec)
    if table is None:
        return None
    files = lake.data_files(table, spec)
    if files.height == 0:
        return None
    stat = "max.event_time"
    if stat in files.columns and files[stat].null_count() == 0:
        return files[stat].max()  # type: ignore[return-value]
    newest_day = files["partition.event_date"].max()
    frame = scan(settings, spec).filter(pl.col("event_date") == newest_day)
    return reads.collect(spec, frame.select(pl.col("event_time").max()))["event_time"][0]


def freshness(settings: Settings, scope: Scope) -> Freshness:
    """Returns the last data commit of each of the scope's tables (catalog names; none:
    `FRESHNESS_TABLES`) and the newest event in bronze/events, both latest whatever the scope."""
    tables = [BY_NAME[name] for name in scope.tables] or FRESHNESS_TABLES
    return Freshness(
        tables=tuple(last_commit(settings, spec) for spec in tables),
        newest_event=newest_event_time(settings, scope),
    )
