"""Retention page: weekly signup cohorts and the share of each that came back, week by week."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard.data import cache
from dashboard.shapes import charts, figures, restated
from dashboard.shell import frame, widgets
from eventlake.catalog import GOLD_COHORT_RETENTION, SILVER_USER_ACTIVITY_DAILY, SILVER_USERS

INFO = frame.PageInfo(
    title="🔁 Retention",
    key="retention",
    tables=(GOLD_COHORT_RETENTION,),
    notes=f"""
- A user's **cohort** is the ISO week (its Monday) of their first `user_signup`; the cohort
  size counts its users (`{SILVER_USERS.name}`).
- A user is **active in week k** when they have any event in the week starting k weeks after
  the cohort's week (`{SILVER_USER_ACTIVITY_DAILY.name}`; activity before the signup week is
  ignored). Week 0 is the signup week itself. **Retained** = active users / cohort size
  (`{GOLD_COHORT_RETENTION.name}`).
- Cohorts whose week meets the selected days are shown; the latest week of each cohort is
  still running and can grow.
- **Week-k retention** over several cohorts weighs each by its size: the sum of their active
  users in week k over the sum of the sizes of the cohorts that have reached week k.
""",
    filters=f"Currency does not apply. Plan, signup source and country apply to every figure, "
    f"rebuilt from the chosen users' rows of `{SILVER_USERS.name}` and "
    f"`{SILVER_USER_ACTIVITY_DAILY.name}`.",
)


def weekly_curve(cohorts: pl.DataFrame) -> pl.DataFrame:
    """Returns one row per week offset: `retention` weighted by cohort size over the cohorts
    that have reached it, and `cohorts` counted."""
    return (
        cohorts.group_by("week_offset")
        .agg(
            cohorts=pl.len(),
            retention=pl.col("active_users").sum() / pl.col("cohort_size").sum(),
        )
        .sort("week_offset")
    )


def body(ctx: frame.Context) -> None:
    """Draws the cohort heatmap and the retention curve of the cohorts in range."""
    cohorts = cache.cohorts(ctx.settings, ctx.scope)
    curve = weekly_curve(cohorts)
    signups = figures.number(cohorts.filter(pl.col("week_offset") == 0)["cohort_size"].sum())

    def week(k: int) -> float | None:
        row = curve.filter(pl.col("week_offset") == k)
        return None if row.is_empty() else row["retention"][0]

    cells = st.columns(4)
    shown = [
        ("Cohorts", figures.format_count(cohorts["cohort_week"].n_unique() if cohorts.height else 0),
         "Signup weeks (Mondays) meeting the selected days."),
        ("Signups", figures.format_count(signups), "Users of those cohorts (first signups)."),
        ("Week-1 retention", figures.format_ratio(week(1)), "Active the week after signing up."),
        ("Week-4 retention", figures.format_ratio(week(4)), "Active four weeks after signing up."),
    ]  # fmt: skip
    for cell, (label, value, help_text) in zip(cells, shown, strict=True):
        with cell:
            widgets.metric(label, value, None, help=help_text)
    st.subheader("🟦 Cohorts by week since signup")
    widgets.chart(charts.cohort_heatmap(cohorts), empty="💤 No signup cohorts in these days.")
    st.subheader("📉 Retention curve")
    widgets.chart(
        charts.daily_lines(
            curve, {"retention": "retained"}, title="retained", percent=True, x="week_offset"
        )
    )
    marked = restated.mark_rows(
        cohorts, ctx.restated, GOLD_COHORT_RETENTION.name,
        day_column="cohort_week", key_columns=("week_offset",),
    )  # fmt: skip
    widgets.table(marked, "Cohorts", key="cohort_retention")


frame.show(INFO, body)
