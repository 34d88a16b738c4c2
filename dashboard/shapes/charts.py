"""Altair charts of query results: pure functions from frames to chart specs, no Streamlit.

Time series per day, and charts with a shape of their own (the cohort heatmap, the RFM grid, the
lifecycle bars, the funnel steps, an event timeline), which return None when there is nothing
to draw.

Days are UTC calendar days, so every time axis uses UTC time units: a browser west of UTC
would otherwise draw each day on the evening before.
"""

from __future__ import annotations

from typing import Literal

import altair as alt
import polars as pl

from dashboard.shapes.figures import activity_long

_DAY = "utcyearmonthdate(day):T"
_DAY_TITLE = "day (UTC)"
LIFECYCLE = ("new", "returning", "resurrecting", "dormant")
_LIFECYCLE_COLORS = ("#54a24b", "#4c78a8", "#f58518", "#9d9d9d")


def activity_chart(users: pl.DataFrame) -> alt.Chart:
    """Returns a line chart of DAU, WAU and MAU per day, one colored line per measure."""
    data = activity_long(users)
    return (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X(_DAY, title=_DAY_TITLE),
            y=alt.Y("users:Q", title="distinct users"),
            color=alt.Color(
                "measure:N",
                title=None,
                sort=["DAU", "WAU", "MAU"],
                scale=alt.Scale(domain=["DAU", "WAU", "MAU"]),
            ),
            tooltip=[
                alt.Tooltip(_DAY, title=_DAY_TITLE),
                alt.Tooltip("measure:N"),
                alt.Tooltip("users:Q", format=","),
            ],
        )
        .properties(height=300)
    )


def revenue_chart(revenue: pl.DataFrame) -> alt.VConcatChart:
    """Returns daily revenue bars, one panel per currency, each with its own y scale.

    Amounts of different currencies are never stacked or drawn on a shared axis: without an
    exchange rate they are not comparable. Panels are stacked vertically so each one can
    stretch to the container's width.
    """
    data = revenue.select("day", "currency", "orders", "revenue", "avg_order_value")
    names = sorted(data["currency"].unique().to_list())
    base = alt.Chart(data).mark_bar()
    panels = [
        base.transform_filter(alt.datum.currency == currency)
        .encode(
            x=alt.X(_DAY, title=_DAY_TITLE if i == len(names) - 1 else None),
            y=alt.Y("revenue:Q", title=currency),
            color=alt.Color("currency:N", legend=None, scale=alt.Scale(domain=names)),
            tooltip=[
                alt.Tooltip(_DAY, title=_DAY_TITLE),
                alt.Tooltip("currency:N"),
                alt.Tooltip("revenue:Q", format=",.2f"),
                alt.Tooltip("orders:Q", format=","),
                alt.Tooltip("avg_order_value:Q", title="avg order value", format=",.2f"),
            ],
        )
        .properties(width="container", height=max(90, 260 // max(1, len(names))))
        for i, currency in enumerate(names)
    ]
    return alt.vconcat(*panels, spacing=8).resolve_scale(y="independent")


def daily_lines(
    frame: pl.DataFrame,
    columns: dict[str, str],
    *,
    title: str,
    percent: bool = False,
    x: str = "day",
) -> alt.Chart | None:
    """Returns one colored line per column (renamed by `columns`) over the days of `frame`.

    None when `frame` has no rows. `percent` formats the y axis and tooltips as percentages.
    """
    if frame.is_empty():
        return None
    names = list(columns.values())
    data = (
        frame.select(x, *columns)
        .rename(columns)
        .unpivot(index=x, variable_name="measure", value_name="value")
    )
    fmt = ".1%" if percent else ",.2f"
    kind = frame.schema[x]
    when = (
        f"utcyearmonthdate({x}):T"
        if kind == pl.Date
        else f"{x}:T"
        if isinstance(kind, pl.Datetime)
        else f"{x}:O"
    )
    return (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X(when, title=_DAY_TITLE if x == "day" else x, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("value:Q", title=title, axis=alt.Axis(format=fmt)),
            color=alt.Color("measure:N", title=None, sort=names, scale=alt.Scale(domain=names)),
            tooltip=[alt.Tooltip(when, title=x), "measure:N", alt.Tooltip("value:Q", format=fmt)],
        )
        .properties(height=280)
    )


def bars(
    frame: pl.DataFrame,
    category: str,
    value: str,
    *,
    title: str,
    fmt: str = ",",
    top: int | None = None,
    color: str | None = None,
    sort_by_value: bool = True,
) -> alt.Chart | None:
    """Returns horizontal bars of `value` per `category` (the `top` largest when given).

    None when `frame` has no rows.
    """
    if frame.is_empty():
        return None
    data = frame.sort(value, descending=True).head(top) if top else frame
    order: Literal["-x"] | None = "-x" if sort_by_value else None
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y(
                f"{category}:N",
                title=None,
                sort=order,
                axis=alt.Axis(labelOverlap=False, labelLimit=220),
            ),
            x=alt.X(f"{value}:Q", title=title, axis=alt.Axis(format=",~s")),
            color=alt.Color(f"{color}:N", title=None) if color else alt.value("#4c78a8"),
            tooltip=[f"{category}:N", alt.Tooltip(f"{value}:Q", format=fmt)]
            + ([f"{color}:N"] if color else []),
        )
        .properties(height=alt.Step(24))  # one band of 24 px per bar: every label shows
    )


def daily_bars(frame: pl.DataFrame, value: str, *, title: str, fmt: str = ",") -> alt.Chart | None:
    """Returns one bar per day of `value` (None when `frame` has no rows)."""
    if frame.is_empty():
        return None
    return (
        alt.Chart(frame.select("day", value))
        .mark_bar()
        .encode(
            x=alt.X(_DAY, title=_DAY_TITLE),
            y=alt.Y(f"{value}:Q", title=title, axis=alt.Axis(format=fmt)),
            tooltip=[alt.Tooltip(_DAY, title=_DAY_TITLE), alt.Tooltip(f"{value}:Q", format=fmt)],
        )
        .properties(height=260)
    )


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
    colors = alt.Scale(domain=list(LIFECYCLE), range=list(_LIFECYCLE_COLORS))
    return (
        _stacked_per_day(
            data,
            "users",
            alt.Color("group:N", title=None, sort=list(LIFECYCLE), scale=colors),
            title="users (dormant below zero)",
            height=300,
        )
        .encode(order=alt.Order("group_order:Q"))
        .transform_calculate(
            group_order="indexof(['new','returning','resurrecting','dormant'], datum.group)"
        )
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
    by_type = alt.Color("event_type:N", title=None)
    return _stacked_per_day(per_day, "events", by_type, title="events", height=200)


def _stacked_per_day(
    data: pl.DataFrame, value: str, color: alt.Color, *, title: str, height: int
) -> alt.Chart:
    """Returns bars per day of `value`, stacked by the groups `color` tells apart."""
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X(_DAY, title=_DAY_TITLE),
            y=alt.Y(f"{value}:Q", title=title, stack="zero"),
            color=color,
            tooltip=[
                alt.Tooltip(_DAY, title=_DAY_TITLE),
                color.shorthand,
                alt.Tooltip(f"{value}:Q", format=","),
            ],
        )
        .properties(height=height)
    )


def intraday_bars(windows: pl.DataFrame, *, title: str, time_format: str) -> alt.Chart:
    """Returns one bar per window of `intraday.TUMBLING` rows: its events, its start (UTC) on
    the x axis, events and active users in the tooltip."""
    start = alt.X(
        "start:T", title=title, axis=alt.Axis(format=time_format), scale=alt.Scale(type="utc")
    )
    return (
        alt.Chart(windows)
        .mark_bar()
        .encode(
            x=start,
            y=alt.Y("events:Q", title="events"),
            tooltip=[
                alt.Tooltip("start:T", title="from (UTC)", format="%H:%M"),
                alt.Tooltip("events:Q", format=","),
                alt.Tooltip("active_users:Q", title="active users", format=","),
            ],
        )
        .properties(height=200)
    )


def latency_bars(latency: pl.DataFrame, *, target_s: float) -> alt.LayerChart | None:
    """Returns grouped horizontal bars of p50, p99 and max seconds per table, with a rule at
    `target_s` (None when no table counted an event)."""
    measures = {"p50_s": "p50", "p99_s": "p99", "max_s": "max"}
    data = (
        latency.select("table", *measures)
        .rename(measures)
        .unpivot(index="table", variable_name="measure", value_name="seconds")
        .drop_nulls("seconds")
    )
    if data.is_empty():
        return None
    names = list(measures.values())
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("table:N", title=None, axis=alt.Axis(labelLimit=220)),
            yOffset=alt.YOffset("measure:N", sort=names),
            x=alt.X("seconds:Q", title="seconds from produce to gold"),
            color=alt.Color(
                "measure:N",
                title=None,
                sort=names,
                scale=alt.Scale(domain=names, range=["#9ecae9", "#4c78a8", "#f58518"]),
            ),
            tooltip=["table:N", "measure:N", alt.Tooltip("seconds:Q", format=",.1f")],
        )
    )
    rule = (
        alt.Chart(pl.DataFrame({"target": [target_s]}))
        .mark_rule(color="#333333", strokeDash=[4, 4])
        .encode(x="target:Q", tooltip=[alt.Tooltip("target:Q", title="target (s)")])
    )
    return (bars + rule).properties(height=36 * data["table"].n_unique())
