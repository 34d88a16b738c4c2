"""Data-quality checks: pure functions that return the offending rows (empty = check passes).

Each asset runs its checks on what it just wrote and reports them as Dagster asset check
results; the silver checks are blocking (a bad silver table would poison every gold table
built from it in the same run: the run then fails, and a failed run has no follow-ups).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dagster as dg
import polars as pl

UNIQUE_EVENT_ID = "unique_event_id"
MATCHES_BRONZE = "count_matches_bronze"
WINDOWS_NEST = "dau_le_wau_le_mau"
NO_NEGATIVE_REVENUE = "no_negative_revenue"
FUNNEL_NARROWS = "funnel_steps_never_increase"
_SAMPLE = 5


def repeated_event_ids(in_days: pl.LazyFrame, elsewhere: pl.LazyFrame) -> pl.LazyFrame:
    """One row per event_id that occurs twice in `in_days` or also in `elsewhere` (silver ids)."""
    inside = in_days.select("event_id")
    twice = inside.filter(pl.col("event_id").is_duplicated())
    shared = elsewhere.select("event_id").join(inside, on="event_id", how="semi")
    return pl.concat([twice, shared]).unique().sort("event_id")


def bronze_mismatches(
    silver_days: pl.LazyFrame, bronze_ids: pl.LazyFrame, silver_elsewhere: pl.LazyFrame
) -> pl.LazyFrame:
    """One row per day whose silver count differs from its distinct bronze ids.

    Args:
        silver_days: silver/events (event_id, event_date) of the days checked.
        bronze_ids: the registered bronze (event_id, event_date) rows of those days.
        silver_elsewhere: silver event_ids of every other day.

    A day D passes when every distinct registered bronze id of D is in silver (on D, or on
    another day where its earliest-ingested copy lies), no silver id of D is missing from
    bronze D, and so silver(D) = distinct bronze ids(D) - ids won by another day.
    """
    bronze = bronze_ids.select("event_id", "event_date").unique()
    silver_day = silver_days.select("event_id", silver_date="event_date")
    elsewhere = silver_elsewhere.select("event_id").unique().with_columns(other=pl.lit(True))
    looked_up = (
        bronze.join(silver_day, on="event_id", how="left")
        .join(elsewhere, on="event_id", how="left")
        .group_by("event_date")
        .agg(
            bronze_ids=pl.len(),
            won_elsewhere=(
                (pl.col("silver_date") != pl.col("event_date")).fill_null(False)
                | pl.col("other").fill_null(False)
            ).sum(),
            missing=(pl.col("silver_date").is_null() & pl.col("other").is_null()).sum(),
        )
    )
    extra = (
        silver_days.join(bronze, on=["event_id", "event_date"], how="anti")
        .group_by("event_date")
        .agg(extra=pl.len())
    )
    counts = silver_days.group_by("event_date").agg(silver=pl.len())
    return (
        looked_up.join(counts, on="event_date", how="full", coalesce=True)
        .join(extra, on="event_date", how="left")
        .fill_null(0)
        .filter(
            (pl.col("silver") != pl.col("bronze_ids") - pl.col("won_elsewhere"))
            | (pl.col("missing") > 0)
            | (pl.col("extra") > 0)
        )
        .sort("event_date")
    )


def windows_out_of_order(dau: pl.LazyFrame) -> pl.LazyFrame:
    """Rows of gold/daily_active_users where dau <= wau <= mau does not hold."""
    return dau.filter(~((pl.col("dau") <= pl.col("wau")) & (pl.col("wau") <= pl.col("mau"))))


def negative_revenue(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Rows whose `revenue` is below zero."""
    return frame.filter(pl.col("revenue") < 0)


def funnel_widening(funnel: pl.LazyFrame) -> pl.LazyFrame:
    """Rows of gold/funnel_daily where a later step counts more users than an earlier one."""
    return funnel.filter(
        (pl.col("carted") > pl.col("viewed")) | (pl.col("ordered") > pl.col("carted"))
    )


def result(name: str, asset_key: list[str], offending: pl.DataFrame) -> dg.AssetCheckResult:
    """Returns the check result: passed when `offending` is empty, with a sample otherwise."""
    metadata: dict[str, Any] = {"offending_rows": offending.height}
    if offending.height:
        metadata["sample"] = dg.MetadataValue.md(_markdown(offending.head(_SAMPLE)))
    return dg.AssetCheckResult(
        check_name=name,
        asset_key=dg.AssetKey(asset_key),
        passed=offending.height == 0,
        metadata=metadata,
    )


def spec(name: str, asset_key: list[str], description: str, *, blocking: bool) -> dg.AssetCheckSpec:
    """Returns the declaration of check `name` on the asset."""
    return dg.AssetCheckSpec(
        name, asset=dg.AssetKey(asset_key), description=description, blocking=blocking
    )


@dataclass(frozen=True)
class RowCheck:
    """A non-blocking check of a gold table on the rows an asset just wrote."""

    name: str
    description: str
    offending: Callable[[pl.LazyFrame], pl.LazyFrame]  # e.g. funnel_widening

    def spec(self, asset_key: list[str]) -> dg.AssetCheckSpec:
        """Returns the declaration of this check on the asset."""
        return spec(self.name, asset_key, self.description, blocking=False)

    def run(self, asset_key: list[str], written: pl.DataFrame) -> dg.AssetCheckResult:
        """Returns the result of this check on the rows `written`."""
        return result(self.name, asset_key, self.offending(written.lazy()).collect())


def _markdown(frame: pl.DataFrame) -> str:
    head = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "---|" * frame.width
    rows = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.rows()]
    return "\n".join([head, rule, *rows])
