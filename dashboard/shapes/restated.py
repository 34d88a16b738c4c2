"""Restated figures, marked: pure functions over audit/restatements rows. No I/O, no Streamlit.

A restatement row names a table, a day, the other grain columns as JSON (`key`, e.g.
{"currency":"EUR"}), a column, and the old and new value with the cause. A figure shown on a
page is "restated" when such a row matches its table, day, key and column; a table row when
any of its columns was.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import polars as pl

MARK = "✏️"
CAUSES = {
    "late_events": "late events arrived",
    "reconciliation": "the nightly reconciliation healed it",
    "replay": "the log was replayed",
    "backfill": "a backfill rebuilt it",
}


def _value(value: float | None) -> str:
    return "–" if value is None else f"{value:,.2f}".rstrip("0").rstrip(".")


def describe(row: Mapping[str, object]) -> str:
    """Returns one restatement in words: "revenue 120 → 130 on 2024-03-05 14:00 UTC: late
    events arrived (run abc)"."""
    when = row["restated_at"]
    moment = f"{when:%Y-%m-%d %H:%M} UTC" if hasattr(when, "strftime") else str(when)
    cause = str(row["cause"])
    old, new = row["old_value"], row["new_value"]
    return (
        f"{row['column']} {_value(old)} → {_value(new)} on {moment}: "  # type: ignore[arg-type]
        f"{CAUSES.get(cause, cause)} (run {row['run_id']})"
    )


def _keys(restated: pl.DataFrame, key_columns: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """`restated` with the key JSON decoded into the given columns (missing keys are null)."""
    if not key_columns:
        return restated
    struct = pl.Struct({name: pl.String() for name in key_columns})
    decoded = restated.with_columns(_k=pl.col("key").str.json_decode(struct)).unnest("_k")
    return decoded.with_columns(
        pl.col(name).cast(dtype, strict=False) for name, dtype in key_columns.items()
    )


def mark_rows(
    frame: pl.DataFrame,
    restated: pl.DataFrame,
    table: str,
    *,
    day_column: str = "day",
    key_columns: Sequence[str] = (),
) -> pl.DataFrame:
    """Returns `frame` with a `restated` column: for each row whose figures were restated, the
    restatements in words ("✏️ revenue 120 → 130 ...; ..."), newest first; null otherwise.

    Args:
        restated: audit/restatements rows (any tables; only `table`'s are used).
        day_column: the column of `frame` holding the restatement's `day`.
        key_columns: the other grain columns of `frame`, as named in the restatement keys.
    """
    mine = restated.filter(pl.col("table") == table)
    if mine.is_empty() or frame.is_empty():
        return frame.with_columns(restated=pl.lit(None, pl.String))
    keyed = _keys(mine, {c: frame.schema[c] for c in key_columns})
    newest = keyed.sort("restated_at", descending=True)
    words = pl.Series([describe(r) for r in newest.iter_rows(named=True)], dtype=pl.String)
    notes = (
        newest.with_columns(note=words)
        .group_by(pl.col("day").alias(day_column), *key_columns, maintain_order=True)
        .agg(restated=pl.lit(MARK + " ") + pl.col("note").str.join("; "))
    )
    notes = notes.cast({day_column: frame.schema[day_column]})
    return frame.join(notes, on=[day_column, *key_columns], how="left", nulls_equal=True)


def for_figure(
    restated: pl.DataFrame,
    table: str,
    day: date,
    column: str,
    key: Mapping[str, object] | None = None,
) -> list[str]:
    """Returns the restatements of one figure (table, day, column, key) in words, newest first."""
    mine = restated.filter(
        pl.col("table") == table, pl.col("day") == day, pl.col("column") == column
    )
    if key:
        keyed = _keys(mine, {name: pl.String() for name in key})
        for name, value in key.items():
            keyed = keyed.filter(pl.col(name) == str(value))
        mine = keyed
    return [describe(r) for r in mine.sort("restated_at", descending=True).iter_rows(named=True)]
