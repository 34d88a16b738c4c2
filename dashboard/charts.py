"""Altair charts of query results: pure functions from frames to chart specs, no Streamlit.

Days are UTC calendar days, so every time axis uses UTC time units: a browser west of UTC
would otherwise draw each day on the evening before.
"""

from __future__ import annotations

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
