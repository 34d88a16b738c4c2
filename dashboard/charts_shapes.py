"""Charts with a shape of their own: the cohort heatmap, the RFM grid, the lifecycle bars and
the funnel steps. Pure functions from frames to Altair specs; None when there is nothing to draw.
"""

from __future__ import annotations

import altair as alt
import polars as pl

_DAY = "utcyearmonthdate(day):T"
_DAY_TITLE = "day (UTC)"
LIFECYCLE = ("new", "returning", "resurrecting", "dormant")
_LIFECYCLE_COLORS = ("#54a24b", "#4c78a8", "#f58518", "#9d9d9d")


def cohort_heatmap(cohorts: pl.DataFrame) -> alt.LayerChart | None:
    """Returns the retention heatmap: one row per cohort week, one column per week offset,
    colored by retention rate and labeled with it."""
    if cohorts.is_empty():
        return None
    data = cohorts.with_columns(cohort=pl.col("cohort_week").dt.strftime("%Y-%m-%d"))
    base = alt.Chart(data).encode(
        x=alt.X("week_offset:O", title="weeks after signup", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("cohort:O", title="signup week (Monday)", sort="descending"),
    )
    cells = base.mark_rect().encode(
        color=alt.Color(
            "retention_rate:Q", title="retained", scale=alt.Scale(scheme="blues", domain=[0, 1])
        ),
        tooltip=[
            alt.Tooltip("cohort:O", title="signup week"),
            alt.Tooltip("week_offset:O", title="week"),
            alt.Tooltip("cohort_size:Q", title="cohort size", format=","),
            alt.Tooltip("active_users:Q", title="active", format=","),
            alt.Tooltip("retention_rate:Q", title="retained", format=".1%"),
        ],
    )
    labels = base.mark_text(fontSize=10).encode(
        text=alt.Text("retention_rate:Q", format=".0%"),
        color=alt.condition(alt.datum.retention_rate > 0.5, alt.value("white"), alt.value("black")),
    )
    rows = data["cohort"].n_unique()
    return (cells + labels).properties(height=max(160, 26 * rows))


def rfm_grid(customers: pl.DataFrame) -> alt.LayerChart | None:
    """Returns the recency x frequency score grid: customers per cell."""
    if customers.is_empty():
        return None
    counts = customers.group_by("r_score", "f_score").agg(customers=pl.len())
    base = alt.Chart(counts).encode(
        x=alt.X("r_score:O", title="recency score (5 = most recent)", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("f_score:O", title="frequency score (5 = most orders)", sort="descending"),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("customers:Q", scale=alt.Scale(scheme="greens")),
        tooltip=["r_score:O", "f_score:O", alt.Tooltip("customers:Q", format=",")],
    )
    labels = base.mark_text(fontSize=11).encode(text=alt.Text("customers:Q", format=","))
    return (cells + labels).properties(height=260)


def lifecycle_bars(lifecycle: pl.DataFrame) -> alt.Chart | None:
    """Returns stacked bars per day: new, returning and resurrecting users above zero, dormant
    (active the day before, gone this day) below."""
    if lifecycle.is_empty():
        return None
    data = (
        lifecycle.select("day", *LIFECYCLE)
        .with_columns(dormant=-pl.col("dormant"))
        .unpivot(index="day", variable_name="group", value_name="users")
    )
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X(_DAY, title=_DAY_TITLE),
            y=alt.Y("users:Q", title="users (dormant below zero)", stack="zero"),
            color=alt.Color(
                "group:N",
                title=None,
                sort=list(LIFECYCLE),
                scale=alt.Scale(domain=list(LIFECYCLE), range=list(_LIFECYCLE_COLORS)),
            ),
            order=alt.Order("group_order:Q"),
            tooltip=[
                alt.Tooltip(_DAY, title=_DAY_TITLE),
                "group:N",
                alt.Tooltip("users:Q", format=","),
            ],
        )
        .transform_calculate(
            group_order="indexof(['new','returning','resurrecting','dormant'], datum.group)"
        )
        .properties(height=300)
    )


def funnel_steps(totals: pl.DataFrame) -> alt.Chart | None:
    """Returns the funnel as bars, one per step (`step`, `users`, `share` of the first step)."""
    if totals.is_empty() or not totals["users"].sum():
        return None
    steps = totals["step"].to_list()
    return (
        alt.Chart(totals)
        .mark_bar()
        .encode(
            y=alt.Y("step:N", title=None, sort=steps, axis=alt.Axis(labelLimit=220)),
            x=alt.X("users:Q", title="users entering the funnel that day (summed over days)"),
            color=alt.Color("step:N", legend=None, sort=steps),
            tooltip=[
                "step:N",
                alt.Tooltip("users:Q", format=","),
                alt.Tooltip("share:Q", format=".1%"),
            ],
        )
        .properties(height=150)
    )


def timeline(per_day: pl.DataFrame) -> alt.Chart | None:
    """Returns stacked bars of one user's events per day (`day`, `event_type`, `events`)."""
    if per_day.is_empty():
        return None
    return (
        alt.Chart(per_day)
        .mark_bar()
        .encode(
            x=alt.X(_DAY, title=_DAY_TITLE),
            y=alt.Y("events:Q", title="events", stack="zero"),
            color=alt.Color("event_type:N", title=None),
            tooltip=[alt.Tooltip(_DAY, title=_DAY_TITLE), "event_type:N", "events:Q"],
        )
        .properties(height=200)
    )
