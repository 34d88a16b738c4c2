"""The restatement ledger: what changed when a read model's partition was written again.

After a gold table's days (or, for an unpartitioned table, the whole table) are written, the
rows they replaced (the table as of the version just before that write) are diffed against the
rows written, by the table's grain: one audit/restatements row per grain key and numeric
column whose value changed, appeared or vanished. Not a restatement, so not recorded:

- a first write: a ledger day that held no rows before the write (never materialized, or
  materialized while it had no data);
- a figure that was still open when its old value was written: its last counted day had not
  ended `SETTLE` before (today's figures grow all day; the close-day run at 00:30 UTC
  publishes the final ones);
- non-numeric columns (segment, category, dates): the ledger holds numbers;
- float noise: values within a relative `REL_TOL` (or absolute `ABS_TOL`) are equal;
- writes outside a Dagster run, and tables outside the gold layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

import dagster as dg
import polars as pl

from eventlake import lake
from eventlake.catalog import (
    AUDIT_RESTATEMENTS,
    GOLD_COHORT_RETENTION,
    GOLD_CUSTOMER_RFM,
    GOLD_FUNNEL_DAILY,
    GOLD_SESSIONS_DAILY,
    TableSpec,
)
from eventlake.settings import Settings

# The run tag saying why a run rewrites read models (written into audit/restatements.cause).
CAUSE_TAG = "eventlake/cause"
Cause = Literal["late_events", "reconciliation", "replay", "backfill"]
BACKFILL_TAG = "dagster/backfill"  # Dagster sets it on every run of a backfill

REL_TOL = 1e-9  # floats: sums in another order differ in the last bits, not in the figure
ABS_TOL = 1e-9  # ... and around zero, where a relative tolerance is no tolerance at all
# A day's figures are final once written this long after the day ended: the close-day schedule
# (orchestration/schedules.py) rebuilds yesterday at 00:30 UTC for the same reason.
SETTLE = timedelta(minutes=30)

_UTC_US = pl.Datetime("us", "UTC")
_CHANGES = pl.Schema(
    {
        "day": pl.Date(),
        "key": pl.String(),
        "column": pl.String(),
        "old_value": pl.Float64(),
        "new_value": pl.Float64(),
    }
)


@dataclass(frozen=True)
class Ledgering:
    """How a gold table's rows become ledger rows.

    Attributes:
        day: the column written into the ledger's `day` (None: the ledger's day is null).
        counts_until: the last day whose events a row's figures count (null: always final).
        snapshot: the table is one as-of snapshot whose `day` is the as-of day: a write with
            another as-of day starts a new snapshot (a first write), it restates nothing.
    """

    day: str | None
    counts_until: pl.Expr
    snapshot: bool = False


_NEXT_DAY = pl.col("day") + timedelta(days=1)  # sessions last up to 24 h; funnels take 24 h
_RULES = {
    GOLD_FUNNEL_DAILY.name: Ledgering("day", _NEXT_DAY),
    GOLD_SESSIONS_DAILY.name: Ledgering("day", _NEXT_DAY),
    # Week offset k of a cohort counts the week starting cohort_week + 7k.
    GOLD_COHORT_RETENTION.name: Ledgering(
        "cohort_week", pl.col("cohort_week") + pl.duration(days=pl.col("week_offset") * 7 + 6)
    ),
    GOLD_CUSTOMER_RFM.name: Ledgering("as_of_day", pl.col("as_of_day"), snapshot=True),
}


def ledgering(spec: TableSpec) -> Ledgering:
    """Returns how `spec`'s rows are ledgered: its own rule, or its day column (final once
    that day ended)."""
    if spec.name in _RULES:
        return _RULES[spec.name]
    if spec.day_column is not None:
        return Ledgering(spec.day_column, pl.col(spec.day_column))
    return Ledgering(None, pl.lit(None, pl.Date))


def restated_figures(
    spec: TableSpec,
    old: pl.DataFrame,
    new: pl.DataFrame,
    *,
    written_at: datetime | Mapping[date, datetime] | None = None,
    rel_tol: float = REL_TOL,
) -> pl.DataFrame:
    """One row per restated figure (day, key, column, old_value, new_value), sorted.

    A figure is one numeric non-grain column of one grain key. It is restated when its value
    differs (floats: beyond `rel_tol`), or when its row appeared (old_value null) or vanished
    (new_value null), on a ledger day that held old rows. `key` is the JSON object of the grain
    columns other than the ledger day ("{}" when none), e.g. {"currency":"EUR"}.

    Args:
        old: the stored rows the write replaced (of the days written, or the whole table).
        new: the rows written in their place.
        written_at: when the old rows were written: one moment for the whole table, or the
            moment of each day partition. Figures still open then are left out; None keeps all.
    """
    rule = ledgering(spec)
    grain = list(spec.grain)
    figures = [c for c, t in spec.schema.items() if c not in grain and t.is_numeric()]
    old, new = _stored_days(rule, old, new)
    if old.is_empty():
        return pl.DataFrame(schema=_CHANGES)
    day = pl.lit(None, pl.Date) if rule.day is None else pl.col(rule.day)

    def side(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.select(*grain, *figures, _day=day, _until=rule.counts_until)

    both = side(old).join(
        side(new), on=grain, how="full", coalesce=True, suffix="_new", nulls_equal=True
    )
    both = both.with_columns(
        _day=pl.coalesce("_day", "_day_new"), _until=pl.coalesce("_until", "_until_new")
    )
    if written_at is not None:
        both = _final(spec, both, written_at)
    keys = [c for c in grain if c != rule.day]
    key = pl.struct(keys).struct.json_encode() if keys else pl.lit("{}")
    parts = [
        both.filter(
            ~_same(pl.col(c), pl.col(f"{c}_new"), spec.schema[c].is_float(), rel_tol)
        ).select(
            day=pl.col("_day"),
            key=key,
            column=pl.lit(c),
            old_value=pl.col(c).cast(pl.Float64),
            new_value=pl.col(f"{c}_new").cast(pl.Float64),
        )
        for c in figures
    ]
    changes = pl.concat([pl.DataFrame(schema=_CHANGES), *parts], how="vertical_relaxed")
    return changes.cast(_CHANGES).sort("day", "key", "column", nulls_last=True)


def _stored_days(
    rule: Ledgering, old: pl.DataFrame, new: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`old` and `new` limited to the ledger days that held old rows (the others are first
    writes); for a snapshot, also to the days still in `new` (the others were superseded)."""
    if rule.day is None:
        return old, new
    days = old.select(rule.day).unique()
    if rule.snapshot:
        days = days.join(new.select(rule.day).unique(), on=rule.day)
    return old.join(days, on=rule.day, how="semi"), new.join(days, on=rule.day, how="semi")


def _final(
    spec: TableSpec, both: pl.DataFrame, written_at: datetime | Mapping[date, datetime]
) -> pl.DataFrame:
    """The joined rows whose figures were final when their old rows were written."""
    if isinstance(written_at, datetime):
        both = both.with_columns(_written=pl.lit(written_at, _UTC_US))
    else:
        if spec.day_column is None:
            raise ValueError(f"{spec.name}: per-day write times need a day column")
        moments = pl.DataFrame(
            {spec.day_column: list(written_at), "_written": list(written_at.values())},
            schema={spec.day_column: pl.Date(), "_written": _UTC_US},
        )
        both = both.join(moments, on=spec.day_column, how="left")
    closed = pl.col("_until").cast(_UTC_US) + timedelta(days=1) + SETTLE
    return both.filter(pl.col("_until").is_null() | (closed <= pl.col("_written")))


def _same(old: pl.Expr, new: pl.Expr, is_float: bool, rel_tol: float) -> pl.Expr:
    """True where two figures are equal: both null, equal, or (floats) both NaN or close."""
    equal = old == new
    if is_float:
        a, b = old.cast(pl.Float64), new.cast(pl.Float64)
        scale = pl.max_horizontal(a.abs(), b.abs()) * rel_tol
        equal = (
            equal | (a.is_nan() & b.is_nan()) | ((a - b).abs() <= pl.max_horizontal(scale, ABS_TOL))
        )
    return (old.is_null() & new.is_null()) | equal.fill_null(False)


def run_cause(tags: Mapping[str, str]) -> str:
    """Returns why a run with these tags rewrites read models: its `CAUSE_TAG`, else
    "backfill" for a run of a Dagster backfill, else "late_events"."""
    if tags.get(CAUSE_TAG):
        return tags[CAUSE_TAG]
    return "backfill" if BACKFILL_TAG in tags else "late_events"


def record(
    settings: Settings,
    spec: TableSpec,
    frame: pl.DataFrame,
    version: int,
    days: tuple[date, date] | None = None,
) -> int:
    """Returns the number of figures restated by the write of `frame` in Delta version
    `version` of `spec` (as days [first, last] of `days`, or as the whole table), after
    appending them to audit/restatements. Writes outside a Dagster run record nothing."""
    run = _current_context()
    if spec.layer != "gold" or run is None or version < 1:
        return 0
    # The version just before the write is exactly what it replaced, even if another writer
    # committed between this run's read of silver and its write.
    old, written_at = _stored(settings, spec, version - 1, days)
    new = frame.select(spec.schema.names()).cast(spec.schema)
    changes = restated_figures(spec, old, new, written_at=written_at)
    if changes.is_empty():
        return 0
    rows = changes.with_columns(
        restated_at=pl.lit(datetime.now(UTC), _UTC_US),
        table=pl.lit(spec.name),
        old_version=pl.lit(version - 1, pl.Int64),
        new_version=pl.lit(version, pl.Int64),
        cause=pl.lit(run_cause(run.run.tags)),
        run_id=pl.lit(run.run.run_id),
    )
    lake.append(settings, AUDIT_RESTATEMENTS, rows)
    return rows.height


def _current_context() -> dg.AssetExecutionContext | None:
    try:
        return dg.AssetExecutionContext.get()
    except dg.DagsterInvariantViolationError:  # not inside a Dagster run: nothing to record
        return None


def _stored(
    settings: Settings, spec: TableSpec, version: int, days: tuple[date, date] | None
) -> tuple[pl.DataFrame, datetime | dict[date, datetime] | None]:
    """Returns the rows of `days` (or all) as of `version`, and when they were written (per
    day partition for a day-partitioned table): the newest of their data files."""
    table = lake.open_table(settings, spec, version=version)
    if table is None:
        return spec.empty(), None
    actions = lake.data_files(table, spec)
    scan = pl.scan_delta(table)
    if days is not None and spec.day_column is not None:
        scan = scan.filter(pl.col(spec.day_column).is_between(*days))
    old = scan.collect()
    if actions.is_empty():
        return old, None
    moment = pl.from_epoch("modification_time", time_unit="ms").dt.replace_time_zone("UTC")
    partition = f"partition.{spec.day_column}"
    if spec.day_column in spec.partition_by and partition in actions.columns:
        per_day = actions.group_by(pl.col(partition).cast(pl.Date)).agg(moment.max())
        return old, dict(per_day.iter_rows())
    return old, actions.select(moment.max()).item()
