"""Parts of the Pipeline health page: lag rows with Kafka's ends, table freshness against the
log, the event-to-gold latency, and the reconciliation results."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import streamlit as st

from dashboard.data import cache
from dashboard.data.kafka import lag
from dashboard.data.scope import Scope
from dashboard.shapes import charts
from dashboard.shapes.figures import format_moment
from dashboard.shell import frame, widgets
from eventlake.catalog import AUDIT_RECONCILIATION, BRONZE_EVENTS
from eventlake.errors import BrokerUnavailable
from operations.freshness import TARGET_SECONDS


def lag_rows(ctx: frame.Context, offsets: pl.DataFrame) -> tuple[pl.DataFrame, str]:
    """Returns the offsets with Kafka's end and the lag per partition, and a note when the
    broker could not say (as of a past moment, Kafka's present end means nothing)."""
    keys = tuple((t, int(p)) for t, p in offsets.select("topic", "partition").iter_rows())
    ends: dict[tuple[str, int], int] = {}
    note = ""
    if ctx.scope.as_of is not None:
        note = "🕰️ As of a past moment: Kafka's end offsets then are not known, so no lag."
    else:
        try:
            ends = cache.kafka_end_offsets(ctx.settings, Scope(partitions=keys))
        except BrokerUnavailable as err:
            note = f"📡 Lag unknown: {str(err).splitlines()[0]}. Showing what bronze holds."
    kafka_end = [ends.get(key) for key in keys]
    lags = [lag(b, e) for b, e in zip(offsets["bronze_offset"].to_list(), kafka_end, strict=True)]
    rows = offsets.with_columns(
        kafka_end=pl.Series(kafka_end, dtype=pl.Int64), lag=pl.Series(lags, dtype=pl.Int64)
    ).select("topic", "partition", "bronze_offset", "kafka_end", "lag", "last_commit")
    return rows, note


def freshness_rows(states: pl.DataFrame, now: datetime) -> pl.DataFrame:
    """Returns the table states with `age_s` (since the last data commit) and `behind_log_s`
    (how long before bronze/events' newest commit the table was last written)."""
    bronze = states.filter(pl.col("table") == BRONZE_EVENTS.name)["last_commit"]
    log_time = bronze[0] if bronze.len() and bronze[0] is not None else None
    age = (pl.lit(now) - pl.col("last_commit")).dt.total_seconds()
    behind = (
        (pl.lit(log_time) - pl.col("last_commit")).dt.total_seconds().clip(lower_bound=0)
        if log_time is not None
        else pl.lit(None, pl.Int64)
    )
    return states.with_columns(age_s=age, behind_log_s=behind)


def event_to_gold_section(ctx: frame.Context) -> None:
    """Draws p50, p99 and max from produce to gold per gold table, and the pending events."""
    st.subheader("⏱️ Event to gold")
    latency = cache.event_to_gold(ctx.settings, ctx.scope)
    events = int(latency["events"][0]) if latency.height else 0  # the same count in each row
    if events == 0:
        st.caption("💤 No event produced in the last 60 minutes is in bronze.")
        return
    pending = int(latency["pending"].max())  # type: ignore[arg-type]
    ages = latency["oldest_pending_s"].drop_nulls()
    oldest = f"{float(ages.max()):,.0f} s" if ages.len() else "–"  # type: ignore[arg-type]
    cells = st.columns(3)
    shown = [
        ("Events produced, last 60 min", f"{events:,}", "Produced in the last 60 minutes and in bronze."),
        ("Pending in gold", f"{pending:,}", "Of those, the most that one gold table has not counted yet."),
        ("Oldest pending", oldest, f"Age of the oldest event a gold table has not counted (alert above {TARGET_SECONDS:.0f} s)."),
    ]  # fmt: skip
    for cell, (label, value, help_text) in zip(cells, shown, strict=True):
        with cell:
            widgets.metric(label, value, None, help=help_text)
    widgets.chart(
        charts.latency_bars(latency, target_s=TARGET_SECONDS),
        empty="⏳ No gold table has counted these events yet.",
    )


def reconciliation_section(ctx: frame.Context) -> None:
    """Draws the newest reconciliation run per table and day, and the runs before it."""
    st.subheader("🧮 Reconciliation")
    newest = cache.reconciliation(ctx.settings, ctx.scope)
    if newest.is_empty():
        st.caption(
            "💤 No reconciliation has run yet: the nightly rebuild of each table from the log "
            f"writes its results to {AUDIT_RECONCILIATION.name}."
        )
        return
    checked = newest["checked_at"].max()
    mismatched = newest.filter(pl.col("mismatches") > 0)
    unhealed = mismatched.filter(~pl.col("healed"))
    cells = st.columns(4)
    shown = [
        ("Last run", f"{format_moment(checked)} UTC", f"Run {newest['run_id'][0]}."),
        ("Tables × days checked", f"{newest.height:,}", "Each compared with a rebuild from the log."),
        ("With mismatches", f"{mismatched.height:,}", "Table days whose rows differed."),
        ("Not healed", f"{unhealed.height:,}", "Mismatches the run did not repair."),
    ]  # fmt: skip
    for cell, (label, value, help_text) in zip(cells, shown, strict=True):
        with cell:
            widgets.metric(label, value, None, help=help_text)
    icon = "🟢" if unhealed.is_empty() else "🔴"
    st.caption(
        f"{icon} Newest run: {mismatched.height} table days differed, {unhealed.height} left unhealed."
    )
    widgets.table(newest, "Newest reconciliation", key="reconciliation_newest")
    runs = cache.reconciliation_runs(ctx.settings, ctx.scope)
    widgets.table(runs, "Reconciliation runs", key="reconciliation_runs")
