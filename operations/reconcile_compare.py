"""Comparing a stored read model with its rebuild from the log, row by row on the table's grain.

Two rows match when they share the grain (the columns that identify a row, `TableSpec.grain`)
and every other column agrees: numbers within a small relative tolerance (a sum taken in
another order may differ in its last bits), anything else exactly. A row on one side only is
a mismatch; its difference is its largest number (the other side counts as zero).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import polars as pl

from eventlake import lake
from eventlake.catalog import TableSpec
from eventlake.settings import Settings

CHUNK_DAYS = 7  # days of a day-partitioned table compared at once
REL_TOLERANCE = 1e-9  # numbers differing by less (relative to the larger) are equal
_STORED, _REBUILT = "__in_stored", "__in_rebuilt"
_SUFFIX = "__rebuilt"


@dataclass(frozen=True)
class PartitionDiff:
    """One compared partition: a table's day, or a whole unpartitioned table (`day` None)."""

    table: str
    day: date | None
    rows_compared: int  # grain keys found on either side
    mismatches: int  # keys on one side only, or whose other columns differ
    max_abs_difference: float  # the largest difference of a number over those rows (0: none)

    @property
    def drifted(self) -> bool:
        """True when the stored partition differs from the rebuild."""
        return self.mismatches > 0


def row_differences(stored: pl.LazyFrame, rebuilt: pl.LazyFrame, spec: TableSpec) -> pl.LazyFrame:
    """One row per grain key on either side: `day` (null for an unpartitioned table),
    `mismatch` (bool) and `abs_difference` (the largest over the row's numeric columns).

    Args:
        stored: the read model's rows as stored.
        rebuilt: the same rows rebuilt from the log.
        spec: the table (its schema and grain).
    """
    if not spec.grain:
        raise ValueError(f"{spec.name} has no grain to compare rows by")
    grain = list(spec.grain)
    values = [c for c in spec.schema.names() if c not in grain]
    left = (
        stored.select(spec.schema.names())
        .cast(spec.schema)
        .with_columns(pl.lit(True).alias(_STORED))
    )
    right = (
        rebuilt.select(spec.schema.names())
        .cast(spec.schema)
        .rename({c: c + _SUFFIX for c in values})
        .with_columns(pl.lit(True).alias(_REBUILT))
    )
    joined = left.join(right, on=grain, how="full", coalesce=True, nulls_equal=True)
    both = pl.col(_STORED).fill_null(False) & pl.col(_REBUILT).fill_null(False)
    differs: list[pl.Expr] = []
    gaps: list[pl.Expr] = []
    for name in values:
        a, b = pl.col(name), pl.col(name + _SUFFIX)
        if spec.schema[name].is_numeric():
            a, b = a.cast(pl.Float64), b.cast(pl.Float64)
            gap = (a - b).abs()
            within = gap <= REL_TOLERANCE * pl.max_horizontal(a.abs(), b.abs())
            differs.append(~a.eq_missing(b) & ~within.fill_null(False))
            # A number against a null (or a missing row) differs by the number itself.
            gaps.append(pl.coalesce(gap, a.abs(), b.abs()).fill_nan(None))
        else:
            differs.append(~a.eq_missing(b))
    mismatch = ~both | pl.any_horizontal(differs) if differs else ~both
    difference = pl.max_horizontal(gaps).fill_null(0.0) if gaps else pl.lit(0.0)
    day = pl.lit(None, pl.Date)
    if spec.day_column in grain:
        day = pl.col(spec.day_column)
    elif spec.day_column:  # a row on the rebuilt side only has its day there
        day = pl.coalesce(spec.day_column, spec.day_column + _SUFFIX)
    return joined.select(
        day.alias("day"), mismatch.alias("mismatch"), difference.alias("abs_difference")
    )


def summarize(
    table: str, differences: pl.DataFrame, days: Sequence[date | None]
) -> list[PartitionDiff]:
    """Returns one `PartitionDiff` per day of `days` (in order), from `row_differences` rows.

    A day without rows on either side is compared too: zero rows, no mismatch.
    """
    per_day = differences.group_by("day").agg(
        rows=pl.len(),
        mismatches=pl.col("mismatch").sum(),
        max_abs=pl.col("abs_difference").filter(pl.col("mismatch")).max(),
    )
    found = {row[0]: row[1:] for row in per_day.iter_rows()}
    out = []
    for day in days:
        rows, mismatches, max_abs = found.get(day, (0, 0, None))
        out.append(PartitionDiff(table, day, int(rows), int(mismatches), float(max_abs or 0.0)))
    return out


def compare_table(
    stored: Settings, rebuilt: Settings, spec: TableSpec, days: Sequence[date]
) -> list[PartitionDiff]:
    """Returns the comparison of a read model in two lakes: per day of `days` for a
    day-partitioned table, one whole-table `PartitionDiff` (day None) for an unpartitioned one.

    Args:
        stored: the lake whose read model is checked.
        rebuilt: the lake holding its rebuild from the log.
    """
    if spec.day_column is None:
        differences = row_differences(lake.scan(stored, spec), lake.scan(rebuilt, spec), spec)
        return summarize(spec.name, differences.collect(), [None])
    wanted = sorted(set(days))
    out = []
    for i in range(0, len(wanted), CHUNK_DAYS):  # memory bounded by a few days' rows
        chunk = wanted[i : i + CHUNK_DAYS]
        inside = pl.col(spec.day_column).is_in(pl.Series(chunk, dtype=pl.Date).implode())
        a, b = (
            lake.scan_days(s, spec, chunk[0], chunk[-1]).filter(inside) for s in (stored, rebuilt)
        )
        out += summarize(spec.name, row_differences(a, b, spec).collect(), chunk)
    return out
