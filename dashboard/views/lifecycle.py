"""Lifecycle page: who is new, returning, resurrecting or dormant each day."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard.data import cache
from dashboard.shapes import charts, figures, restated
from dashboard.shell import frame, widgets
from eventlake.catalog import GOLD_LIFECYCLE_DAILY, SILVER_USER_ACTIVITY_DAILY, SILVER_USERS

INFO = frame.PageInfo(
    title="🌱 Lifecycle",
    key="lifecycle",
    tables=(GOLD_LIFECYCLE_DAILY,),
    notes=f"""
- Among the users active on day D (any event with their `user_id`, as for DAU,
  `{SILVER_USER_ACTIVITY_DAILY.name}`): **new** = D is their first active day ever;
  **returning** = also active on D-1; **resurrecting** = not active on D-1 but on some day
  before. new + returning + resurrecting = **active** (= DAU).
- **Dormant** = active on D-1 but not on D (drawn below zero).
- **Quick ratio** = (new + resurrecting) / dormant: above 1 the active base grows.
- Figures of the latest day in range, each against the day before (`{GOLD_LIFECYCLE_DAILY.name}`).
""",
    filters=f"Currency does not apply. Plan, signup source and country apply to every figure, "
    f"rebuilt from `{SILVER_USER_ACTIVITY_DAILY.name}` of the users `{SILVER_USERS.name}` gives "
    'those attributes (for them, "new" means new among the chosen users).',
)
MEASURES = figures.counts(
    ("Active", "active", "Users with any event that day (= DAU)."),
    ("New", "new", "Active for the first time ever."),
    ("Returning", "returning", "Also active the day before."),
    ("Resurrecting", "resurrecting", "Back after at least one inactive day."),
    ("Dormant", "dormant", "Active the day before, not this day."),
)


def body(ctx: frame.Context) -> None:
    """Draws the lifecycle of the range."""
    scope = ctx.scope
    rows = cache.lifecycle(ctx.settings, scope.widened(before=1))  # the first day's delta
    shown = rows.filter(pl.col("day") >= scope.first)
    day = shown["day"].max() if shown.height else None
    if day is None:
        st.info(f"No rows between {scope.first} and {scope.last}.", icon="📅")
        return
    st.markdown(f"##### {figures.format_moment(day, '%A %d %B %Y')} (UTC)")
    marks = {
        m.column: restated.for_figure(ctx.restated, GOLD_LIFECYCLE_DAILY.name, day, m.column)  # type: ignore[arg-type]
        for m in MEASURES
    }
    widgets.metric_row(rows, day, scope.first, MEASURES, marks=marks)  # type: ignore[arg-type]
    st.subheader("📊 New, returning, resurrecting and dormant users")
    widgets.chart(charts.lifecycle_bars(shown))
    quick = shown.with_columns(
        quick_ratio=pl.when(pl.col("dormant") > 0).then(
            (pl.col("new") + pl.col("resurrecting")) / pl.col("dormant")
        )
    )
    st.subheader("⚖️ Quick ratio")
    widgets.chart(
        charts.daily_lines(
            quick, {"quick_ratio": "quick ratio"}, title="(new + resurrecting) / dormant"
        )
    )
    marked = restated.mark_rows(quick, ctx.restated, GOLD_LIFECYCLE_DAILY.name)
    widgets.table(marked, "Lifecycle by day", key="lifecycle_daily")


frame.show(INFO, body)
