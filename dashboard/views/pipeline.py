"""Pipeline health page: ingest rate and latency, lag per partition, dead letters, the state of
every table, how far each read model is behind the log, and the reconciliation results."""

from __future__ import annotations

from dataclasses import replace

import polars as pl
import streamlit as st

from dashboard.data import cache
from dashboard.data.pipeline import recent_window
from dashboard.shapes import charts, figures
from dashboard.shell import frame, widgets
from dashboard.views.parts.pipeline import (
    event_to_gold_section,
    freshness_rows,
    lag_rows,
    reconciliation_section,
)
from eventlake.catalog import (
    AUDIT_RECONCILIATION,
    BRONZE_DEAD_LETTERS,
    BRONZE_EVENTS,
    BRONZE_INGEST_BATCHES,
)

WINDOW_MINUTES = 60
INFO = frame.PageInfo(
    title="🩺 Pipeline health",
    key="pipeline",
    tables=(BRONZE_INGEST_BATCHES, BRONZE_DEAD_LETTERS, BRONZE_EVENTS, AUDIT_RECONCILIATION),
    notes=f"""
- **Ingest rate, batch latency** — from `{BRONZE_INGEST_BATCHES.name}`, one row per committed
  micro-batch, over the last {WINDOW_MINUTES} minutes: events per second per minute, and the
  p50 / p90 of each batch's time from its first message to its Delta commit. The ingester
  appends these rows every few seconds, so the newest seconds may be missing.
- **Lag per partition** — Kafka's end offset (asked from the broker when it is reachable)
  minus the last offset committed to `{BRONZE_EVENTS.name}`: the offset of record the ingester
  keeps in the table's Delta log (a `txn` per partition), else the batches' offset ranges.
- **Dead letters** — `{BRONZE_DEAD_LETTERS.name}`, one row per rejected message, by rejection
  code, with the raw bytes of the newest.
- **Tables** — every table of the catalog: its Delta version, data files, size and newest data
  commit (compaction and vacuum commits excluded). **Behind the log** = how long before the
  newest `{BRONZE_EVENTS.name}` commit the table was last written.
- **Event to gold** — for the events produced in the last 60 minutes, per gold day table:
  p50, p99 and max from the Kafka produce time to the first commit of the table that counted
  the event (the bronze version each gold commit reflects is in its commit metadata), and the
  events not counted yet. Read from the lake alone (docs/operations.md, "Event to gold
  latency"); the dashed rule is the 60 s freshness target.
- **Reconciliation** — `{AUDIT_RECONCILIATION.name}`: the nightly rebuild of each table and
  day from the log, rows compared, mismatches and whether they were healed.
""",
    filters="None apply: the pipeline is the same for every filter and day range.",
    needs_days=False,
)


def ingest_section(ctx: frame.Context) -> None:
    """Draws the ingest rate and batch latency of the last hour."""
    now = ctx.scope.as_of or ctx.now
    minutes = cache.ingest_minutes(
        ctx.settings, replace(ctx.scope, since=recent_window(now, WINDOW_MINUTES))
    )
    st.subheader("🚚 Ingest")
    if minutes.is_empty():
        st.caption(f"💤 No micro-batch committed in the last {WINDOW_MINUTES} minutes.")
        return
    last = minutes.tail(5)
    cells = st.columns(4)
    figures_shown = [
        ("Events per second", f"{(figures.number(last['events'].sum()) or 0) / (60 * last.height):,.0f}", "Mean over the last 5 minutes with batches."),
        (f"Events, last {WINDOW_MINUTES} min", figures.format_count(figures.number(minutes["events"].sum())), f"Committed to {BRONZE_EVENTS.name}."),
        ("p90 batch latency", f"{figures.number(last['p90_latency_ms'].max()) or 0:,.0f} ms", "Worst minute of the last 5: first message to Delta commit."),
        (f"Dead letters, last {WINDOW_MINUTES} min", figures.format_count(figures.number(minutes["dead_letters"].sum())), "Rejected messages."),
    ]  # fmt: skip
    for cell, (label, value, help_text) in zip(cells, figures_shown, strict=True):
        with cell:
            widgets.metric(label, value, None, help=help_text)
    left, right = st.columns(2)
    with left:
        widgets.chart(
            charts.daily_lines(
                minutes, {"events_per_s": "events/s"}, title="events per second", x="minute"
            )
        )
    with right:
        latency = {"p50_latency_ms": "p50", "p90_latency_ms": "p90"}
        widgets.chart(charts.daily_lines(minutes, latency, title="batch latency (ms)", x="minute"))
    widgets.table(minutes, "Ingest per minute", key="ingest_minutes")


def lag_section(ctx: frame.Context) -> None:
    """Draws the lag per partition (Kafka end minus the last offset in bronze)."""
    st.subheader("📍 Lag per partition")
    since = recent_window(ctx.scope.as_of or ctx.now, WINDOW_MINUTES)
    offsets = cache.partition_offsets(ctx.settings, replace(ctx.scope, since=since))
    if offsets.is_empty():
        st.caption("💤 No partition ingested yet.")
        return
    rows, note = lag_rows(ctx, offsets)
    if note:
        st.caption(note)
    if rows["lag"].is_not_null().any():  # unknown lags would draw an empty chart
        named = rows.with_columns(partition_name=pl.format("{}/{}", "topic", "partition"))
        widgets.chart(
            charts.bars(
                named, "partition_name", "lag", title="messages behind", sort_by_value=False
            )
        )
    widgets.table(rows, "Lag per partition", key="partition_lag")


def dead_letter_section(ctx: frame.Context) -> None:
    """Draws the dead letters by code and the newest ones."""
    st.subheader("☠️ Dead letters by code")
    codes = cache.dead_letters_by_code(ctx.settings, ctx.scope)
    if codes.is_empty():
        st.caption("✅ No message was rejected.")
        return
    left, right = st.columns([2, 3])
    with left:
        widgets.chart(charts.bars(codes, "error_code", "rows", title="messages"))
    with right:
        widgets.table(codes, "Dead letters by code", key="dead_letter_codes")
    recent = cache.recent_dead_letters(ctx.settings, ctx.scope)
    widgets.table(recent, "Newest dead letters", key="dead_letters_recent")


def tables_section(ctx: frame.Context) -> None:
    """Draws the Delta version, files and freshness of every table."""
    st.subheader("🗄️ Tables: Delta versions, files and freshness")
    states = cache.table_states(ctx.settings, ctx.scope)
    rows = freshness_rows(states, ctx.scope.as_of or ctx.now)
    existing = rows.filter(pl.col("version").is_not_null())
    if existing.is_empty():
        st.caption("💤 No table exists yet.")
        return
    widgets.chart(charts.bars(existing, "table", "files", title="data files", sort_by_value=False))
    widgets.table(rows, "Tables", key="table_states")


def body(ctx: frame.Context) -> None:
    """Draws every section of the page."""
    ingest_section(ctx)
    lag_section(ctx)
    dead_letter_section(ctx)
    tables_section(ctx)
    event_to_gold_section(ctx)
    reconciliation_section(ctx)


frame.show(INFO, body)
