"""Altair charts of query results: pure functions from frames to chart specs, no Streamlit.

Days are UTC calendar days, so every time axis uses UTC time units: a browser west of UTC
would otherwise draw each day on the evening before.
"""

from __future__ import annotations

from typing import Literal

import altair as alt
import polars as pl

from dashboard.figures import activity_long

_DAY = "utcyearmonthdate(day):T"
_DAY_TITLE = "day (UTC)"


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
