"""The audit trail of the read models: the restatement ledger and the reconciliation report.

audit/restatements holds one row per gold figure that changed after it was first written (late
events, reconciliation, replay, backfill); audit/reconciliation one row per table and day per
nightly check against a rebuild from the log. A missing table means nothing was restated or
checked yet: it reads as empty. No Streamlit.
"""

from __future__ import annotations

import polars as pl

from dashboard.data import reads
from dashboard.data.scope import Scope
from eventlake import lake
from eventlake.catalog import AUDIT_RECONCILIATION, AUDIT_RESTATEMENTS
from eventlake.settings import Settings

RUNS_SHOWN = 30  # the reconciliation runs the Pipeline health page lists


def restatements(settings: Settings, scope: Scope) -> pl.DataFrame:
    """Returns one row per restatement of the scope's tables (catalog names) on its days,
    newest first.

    Days are not limited when the scope covers every day (tables without a day, like
    gold/customer_rfm). As of a moment, only the restatements made by then are returned.
    """
    spec, as_of = AUDIT_RESTATEMENTS, scope.as_of
    frame = lake.scan(settings, spec, version=as_of).filter(
        pl.col("table").is_in(list(scope.tables))
    )
    if not scope.every_day:
        frame = frame.filter(pl.col("day").is_between(scope.first, scope.last))
    if as_of is not None:
        frame = frame.filter(pl.col("restated_at") <= as_of)
    return reads.collect(
        spec, frame.sort("restated_at", "table", "day", descending=[True, False, False])
    )


def reconciliation(settings: Settings, scope: Scope) -> pl.DataFrame:
    """Returns every audit/reconciliation row of the newest run, sorted by table and day.

    The newest run is the one with the latest `checked_at` (as of the scope's moment).
    """
    spec, as_of = AUDIT_RECONCILIATION, scope.as_of
    frame = lake.scan(settings, spec, version=as_of)
    if as_of is not None:
        frame = frame.filter(pl.col("checked_at") <= as_of)
    newest = frame.sort("checked_at").select(pl.col("run_id").last())
    return reads.collect(spec, frame.join(newest, on="run_id", how="semi").sort("table", "day"))


def reconciliation_runs(settings: Settings, scope: Scope) -> pl.DataFrame:
    """Returns one row per reconciliation run (the newest `RUNS_SHOWN` as of the scope's
    moment), newest first: run_id, checked_at, tables, days, rows_compared, mismatches,
    max_abs_difference, healed (every mismatch healed)."""
    spec, as_of = AUDIT_RECONCILIATION, scope.as_of
    frame = lake.scan(settings, spec, version=as_of)
    if as_of is not None:
        frame = frame.filter(pl.col("checked_at") <= as_of)
    runs = frame.group_by("run_id").agg(
        checked_at=pl.col("checked_at").max(),
        tables=pl.col("table").n_unique(),
        days=pl.len(),
        rows_compared=pl.col("rows_compared").sum(),
        mismatches=pl.col("mismatches").sum(),
        max_abs_difference=pl.col("max_abs_difference").max(),
        healed=(pl.col("healed") | (pl.col("mismatches") == 0)).all(),
    )
    return reads.collect(spec, runs.sort("checked_at", descending=True).head(RUNS_SHOWN))
