"""Funnel page: product view, then add to cart, then order within 24 h, over the days in range
and against the period before."""

from __future__ import annotations

from dataclasses import replace

import polars as pl
import streamlit as st

from dashboard.data import cache
from dashboard.shapes import charts, figures, restated
from dashboard.shapes.figures import Measure
from dashboard.shapes.totals import funnel_totals
from dashboard.shell import frame, widgets
from eventlake.catalog import GOLD_FUNNEL_DAILY, SILVER_ORDERS, SILVER_PRODUCT_EVENTS, SILVER_USERS

INFO = frame.PageInfo(
    title="🔻 Funnel",
    key="funnel",
    tables=(GOLD_FUNNEL_DAILY,),
    notes=f"""
- A user **enters** the funnel of day D at their first `product_view` of D; **viewed** counts
  them. **Carted**: an `add_to_cart` at or after that view and within 24 h of it (any
  product). **Ordered**: a counted order (`order_placed`, the earliest event of its `order_id`)
  at or after their first such add-to-cart and within 24 h of entering. A user entering on two
  days counts on both (`{GOLD_FUNNEL_DAILY.name}`).
- **Rates** over a period are ratios of the summed counts (carted / viewed, ordered / carted,
  ordered / viewed), compared with as many days just before. **Median time to order**: the
  median over ordering users of the seconds from entering to their first qualifying order,
  per day.
- The funnel of D reads events of D and D+1: the last day's rates can still grow by tomorrow.
""",
    filters=f"Currency does not apply (any order counts). Plan, signup source and country "
    f"apply to every figure, rebuilt from `{SILVER_PRODUCT_EVENTS.name}` and "
    f"`{SILVER_ORDERS.name}` of the users `{SILVER_USERS.name}` gives those attributes.",
)
COUNTS = figures.counts(
    ("Viewed", "viewed", "Users entering the funnel (first product view of a day), summed."),
    ("Carted", "carted", "Of those, users who added to cart within 24 h."),
    ("Ordered", "ordered", "Of those, users who then ordered within 24 h of entering."),
)
RATES = (
    (Measure("View → cart", "view_to_cart_rate", figures.format_ratio, figures.delta_ratio,
             "carted / viewed over the days."), "carted", "viewed"),
    (Measure("Cart → order", "cart_to_order_rate", figures.format_ratio, figures.delta_ratio,
             "ordered / carted over the days."), "ordered", "carted"),
    (Measure("View → order", "view_to_order_rate", figures.format_ratio, figures.delta_ratio,
             "ordered / viewed over the days: the conversion."), "ordered", "viewed"),
)  # fmt: skip


def body(ctx: frame.Context) -> None:
    """Draws the funnel of the range."""
    scope = ctx.scope
    rows = cache.funnel(ctx.settings, replace(scope, first=scope.previous().first))
    shown = rows.filter(pl.col("day") >= scope.first)
    before = scope.previous()
    st.caption(
        f"{scope.first} – {scope.last} ({scope.days} days, UTC), each change against "
        f"{before.first} – {before.last}."
    )
    marks = {
        c: [restated.describe(r) for r in ctx.restated.filter(pl.col("column") == c).iter_rows(named=True)]
        for c in ("viewed", "carted", "ordered", *(m.column for m, _, _ in RATES))
    } if ctx.restated.height else {}  # fmt: skip
    counts = [(m, figures.period_figure(rows, m.column, scope, "sum")) for m in COUNTS]
    rates = [
        (m, figures.period_figure(rows, top, scope, "ratio", bottom)) for m, top, bottom in RATES
    ]
    widgets.metric_figures(counts, [shown[m.column].to_list() for m in COUNTS], marks=marks)
    widgets.metric_figures(
        rates, [shown[m.column].fill_null(0).to_list() for m, _, _ in RATES], marks=marks
    )
    left, right = st.columns(2)
    with left:
        st.subheader("🔻 Steps")
        widgets.chart(charts.funnel_steps(funnel_totals(shown)))
        st.subheader("⏳ Median time to order")
        minutes = shown.with_columns(minutes=pl.col("median_seconds_to_order") / 60)
        widgets.chart(charts.daily_lines(minutes, {"minutes": "median minutes"}, title="minutes"))
    with right:
        st.subheader("📈 Rates by day")
        names = {m.column: m.label for m, _, _ in RATES}
        widgets.chart(charts.daily_lines(shown, names, title="share of users", percent=True))
    marked = restated.mark_rows(shown, ctx.restated, GOLD_FUNNEL_DAILY.name)
    widgets.table(marked, "Funnel by day", key="funnel_daily")


frame.show(INFO, body)
