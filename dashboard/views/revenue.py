"""Revenue page: revenue and orders by day, product, category and currency, against the period
before. Today's revenue by currency comes live from the event log; the rest from gold."""

from __future__ import annotations

from dataclasses import replace

import polars as pl
import streamlit as st

from dashboard.data import cache
from dashboard.data.scope import Scope
from dashboard.shapes import charts, figures, restated
from dashboard.shapes.totals import category_totals, currency_totals, product_totals
from dashboard.shell import frame, widgets
from eventlake.catalog import (
    BRONZE_EVENTS,
    DIM_PRODUCTS,
    GOLD_REVENUE_BY_PRODUCT,
    GOLD_REVENUE_DAILY,
    SILVER_ORDER_ITEMS,
    SILVER_ORDERS,
    SILVER_USERS,
)

PRODUCT_CURRENCY_KEY = "revenue_product_currency"
INFO = frame.PageInfo(
    title="💶 Revenue",
    key="revenue",
    tables=(GOLD_REVENUE_DAILY, GOLD_REVENUE_BY_PRODUCT),
    notes=f"""
- **Revenue** — sum of `total_amount` of the counted orders: one per `order_id` over every
  `order_placed` event (the earliest by event time counts, ties: smallest `event_id`), on the
  day of that event and in its currency (`{GOLD_REVENUE_DAILY.name}`). **Orders** counts them;
  **average order value** = revenue / orders.
- **By product** — the counted orders' items: units = sum of `quantity`, revenue = sum of
  quantity × `unit_price` (for `order_placed` v1, which has no unit prices, the total spread
  evenly over the units) (`{GOLD_REVENUE_BY_PRODUCT.name}`). **By category** adds the products
  up by the category of the product dimension (`{DIM_PRODUCTS.name}`, else the built-in catalog).
- Every amount stays in its own currency: no exchange rates, no cross-currency totals.
- **Change** compares the selected days with as many days just before them.
- **Today's** revenue per currency is computed live from `{BRONZE_EVENTS.name}` (the same projection
  on today's `order_placed` events); its by-product rows come from gold, as materialized so far.
""",
    filters=f"Currency applies to every figure. Plan, signup source and country apply to every "
    f"figure, rebuilt from `{SILVER_ORDERS.name}` and `{SILVER_ORDER_ITEMS.name}` of the users "
    f"`{SILVER_USERS.name}` gives those attributes.",
)


def _revenue(ctx: frame.Context) -> pl.DataFrame:
    """The gold/revenue_daily rows of the range and the period before, today live if in range."""
    scope = ctx.scope
    start = scope.previous().first
    rows = cache.revenue(ctx.settings, replace(scope, first=start))
    if ctx.live and scope.first <= ctx.today <= scope.last:
        live = cache.live_revenue(ctx.settings, replace(scope, first=ctx.today, last=ctx.today))
        if live.events:
            money = live.revenue
            if scope.currencies:
                money = money.filter(pl.col("currency").is_in(list(scope.currencies)))
            rows = figures.overlay(rows, money, live.day)
            st.caption(
                f"⚡ {live.day} (today): revenue live from {BRONZE_EVENTS.name} version "
                f"{live.bronze_version}, computed {live.computed_at:%H:%M:%S} UTC."
            )
    return rows


def _currency_metrics(totals: pl.DataFrame, scope: Scope) -> None:
    """One metric per currency (the three with most orders): revenue against the period before."""
    shown = totals.head(3)
    if shown.is_empty():
        st.caption("💤 No orders in the selected days.")
        return
    for column, row in zip(st.columns(3), shown.iter_rows(named=True), strict=False):
        fig = figures.DayFigure(scope.last, row["revenue"], row["revenue_previous"])
        with column:
            widgets.metric(
                f"Revenue ({row['currency']})",
                figures.format_amount(row["revenue"], row["currency"]),
                figures.delta_amount(fig),
                help=f"{row['orders']:,} orders in {scope.days} days; the previous "
                f"{scope.days} days: {row['orders_previous'] or 0:,} orders.",
            )


def _by_product(ctx: frame.Context, by_product: pl.DataFrame) -> None:
    products = product_totals(by_product, cache.products(ctx.settings, ctx.scope))
    names = (
        by_product.group_by("currency")
        .agg(pl.col("revenue").count())
        .sort(["revenue", "currency"], descending=[True, False])["currency"]
        .to_list()
    )
    if not names:
        st.caption("💤 No products sold in the selected days.")
        return
    currency: str = st.selectbox("Currency", names, key=PRODUCT_CURRENCY_KEY)
    mine = products.filter(pl.col("currency") == currency)
    left, right = st.columns(2)
    with left:
        st.markdown(f"**Top 15 products by revenue ({currency})**")
        labeled = mine.with_columns(label=pl.col("name").fill_null(pl.col("product_id")))
        title = f"revenue ({currency})"
        widgets.chart(charts.bars(labeled, "label", "revenue", title=title, fmt=",.2f", top=15))
    with right:
        st.markdown(f"**By category ({currency})**")
        categories = category_totals(mine)
        widgets.chart(charts.bars(categories, "category", "revenue", title=title, fmt=",.2f"))
    widgets.table(products, "Revenue by product", key="revenue_by_product")
    widgets.table(category_totals(products), "Revenue by category", key="revenue_by_category")


def body(ctx: frame.Context) -> None:
    """Draws the revenue figures of the range."""
    scope = ctx.scope
    revenue = _revenue(ctx)
    in_range = revenue.filter(pl.col("day") >= scope.first)
    totals = currency_totals(revenue, scope)
    before = scope.previous()
    st.caption(
        f"{scope.first} – {scope.last} ({scope.days} days, UTC), each change against "
        f"{before.first} – {before.last}."
    )
    _currency_metrics(totals, scope)
    by_day, by_product, by_currency = st.tabs(
        ["📅 By day", "📦 By product and category", "💱 By currency"]
    )
    with by_day:
        if in_range.is_empty():
            st.caption("💤 No orders in the selected days.")
        else:
            st.altair_chart(charts.revenue_chart(in_range), width="stretch")
        marked = restated.mark_rows(
            in_range, ctx.restated, GOLD_REVENUE_DAILY.name, key_columns=("currency",)
        )
        widgets.table(marked, "Revenue by day", key="revenue_daily")
    with by_product:
        _by_product(ctx, cache.revenue_by_product(ctx.settings, scope))
    with by_currency:
        widgets.table(
            totals,
            "Revenue by currency",
            key="revenue_by_currency",
            caption="Per currency over the selected days and the period before; change = revenue / previous revenue − 1.",
        )


frame.show(INFO, body)
