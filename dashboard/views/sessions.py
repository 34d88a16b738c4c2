"""Sessions page: how many sessions start each day and how long they last."""

from __future__ import annotations

from dataclasses import replace

import polars as pl
import streamlit as st

from dashboard.data import cache
from dashboard.shapes import charts, figures, restated
from dashboard.shapes.figures import DayFigure
from dashboard.shell import frame, widgets
from eventlake.catalog import GOLD_SESSIONS_DAILY, SILVER_SESSIONS, SILVER_USERS

INFO = frame.PageInfo(
    title="⏱️ Sessions",
    key="sessions",
    tables=(GOLD_SESSIONS_DAILY, SILVER_SESSIONS),
    notes=f"""
- A **session** is a user's run of events: all their events sharing one `metadata.session_id`,
  or, for events without one, a run with no gap over 30 minutes between consecutive events.
  A session lasts at most 24 h (a longer run is cut) and belongs to the UTC day of its first
  event; its **duration** is its last minus its first event time (0 s for a single event)
  (`{SILVER_SESSIONS.name}`). Every event type with a `user_id` counts.
- Per day (`{GOLD_SESSIONS_DAILY.name}`): sessions started, average, median (p50) and p90
  duration, quantiles interpolated linearly.
- Over a period: **sessions** are summed; the **average duration** weighs each day by its
  sessions; the **session lengths** chart counts every session of the selected days
  (`{SILVER_SESSIONS.name}`). Changes compare with as many days just before.
""",
    filters=f"Currency does not apply. Plan, signup source and country apply to every figure, "
    f"rebuilt from `{SILVER_SESSIONS.name}` of the users `{SILVER_USERS.name}` gives those "
    "attributes.",
)
DURATIONS = {"avg_duration_s": "average", "p50_duration_s": "median", "p90_duration_s": "p90"}


def weighted_average(daily: pl.DataFrame) -> float | None:
    """Returns the mean session duration over the days, each day weighted by its sessions."""
    known = daily.drop_nulls("avg_duration_s")
    total = known["sessions"].sum() if known.height else 0
    if not total:
        return None
    weighted = figures.number((known["avg_duration_s"] * known["sessions"]).sum())
    return None if weighted is None else weighted / float(total)


def format_seconds(value: float | None) -> str:
    """Returns a duration for humans: "42 s", "3.5 min", "1.2 h" ("–" when unknown)."""
    if value is None:
        return "–"
    if value < 60:
        return f"{value:.0f} s"
    if value < 3600:
        return f"{value / 60:.1f} min"
    return f"{value / 3600:.1f} h"


def body(ctx: frame.Context) -> None:
    """Draws the sessions of the range."""
    scope = ctx.scope
    rows = cache.sessions(ctx.settings, replace(scope, first=scope.previous().first))
    shown = rows.filter(pl.col("day") >= scope.first)
    earlier = rows.filter(pl.col("day") < scope.first)
    count = DayFigure(
        scope.last,
        figures.number(shown["sessions"].sum()),
        figures.number(earlier["sessions"].sum()) if earlier.height else None,
    )
    mean = DayFigure(scope.last, weighted_average(shown), weighted_average(earlier))
    delta_s = None if mean.delta is None else f"{mean.delta:+.0f} s"
    per_day = figures.number(shown["sessions"].mean())
    notes = {
        c: restated.for_figure(ctx.restated, GOLD_SESSIONS_DAILY.name, scope.last, c)
        for c in ("sessions", "avg_duration_s")
    }
    cells = st.columns(3)
    label, help_text = widgets.marked(
        "Sessions", "Sessions started in the selected days.", notes["sessions"]
    )
    with cells[0]:
        widgets.metric(label, figures.format_count(count.value), figures.delta_count(count),
                       help=help_text, trend=shown["sessions"].to_list())  # fmt: skip
    with cells[1]:
        widgets.metric("Sessions per day", figures.format_count(per_day), None,
                       help="Mean sessions started per day.")  # fmt: skip
    label, help_text = widgets.marked(
        "Average duration",
        "Mean duration, days weighted by their sessions.",
        notes["avg_duration_s"],
    )
    with cells[2]:
        widgets.metric(label, format_seconds(mean.value), delta_s, help=help_text,
                       trend=shown["avg_duration_s"].fill_null(0).to_list())  # fmt: skip
    left, right = st.columns(2)
    with left:
        st.subheader("📅 Sessions per day")
        widgets.chart(charts.daily_bars(shown, "sessions", title="sessions"))
    with right:
        st.subheader("⏳ Duration (minutes)")
        minutes = shown.with_columns(pl.col(list(DURATIONS)) / 60)
        widgets.chart(charts.daily_lines(minutes, DURATIONS, title="minutes"))
    st.subheader("📊 Session lengths")
    lengths = cache.session_lengths(ctx.settings, scope)
    widgets.chart(charts.bars(lengths, "bucket", "sessions", title="sessions", sort_by_value=False))
    widgets.table(lengths, "Session lengths", key="session_lengths")
    marked = restated.mark_rows(shown, ctx.restated, GOLD_SESSIONS_DAILY.name)
    widgets.table(marked, "Sessions by day", key="sessions_daily")


frame.show(INFO, body)
