"""Products page: views, add-to-carts, units and revenue per product and category."""

from __future__ import annotations

from dataclasses import replace

import polars as pl
import streamlit as st

from dashboard.data import cache
from dashboard.shapes import charts, figures, restated
from dashboard.shapes.figures import DayFigure
from dashboard.shapes.totals import performance_by_category, performance_totals
from dashboard.shell import frame, widgets
from eventlake.catalog import (
    DIM_PRODUCTS,
    GOLD_PRODUCT_PERFORMANCE,
    SILVER_ORDER_ITEMS,
    SILVER_ORDERS,
    SILVER_PRODUCT_EVENTS,
    SILVER_USERS,
)
from eventlake.currencies import REPORTING_CURRENCY

RANK_KEY = "products_rank_by"
RANKS = {"revenue": "revenue", "views": "views", "add_to_carts": "add-to-carts", "units": "units"}
INFO = frame.PageInfo(
    title="📦 Products",
    key="products",
    tables=(GOLD_PRODUCT_PERFORMANCE,),
    notes=f"""
- Per day and product (`{GOLD_PRODUCT_PERFORMANCE.name}`): **views** = `product_view` events,
  **add-to-carts** = `add_to_cart` events, **units** and **revenue** from the items of the
  orders counted that day (`order_placed`, the earliest event of each `order_id`).
- **Revenue is in {REPORTING_CURRENCY}**: each item's quantity × unit price converted with the
  static rate table (items in a currency without a rate add units but no revenue).
- **Category** comes from the product dimension (`{DIM_PRODUCTS.name}` when it exists, else the
  built-in catalog); "(unknown)" for a product it does not know.
- **Cart rate** = add-to-carts / views. Totals sum the selected days; changes compare with as
  many days just before.
""",
    filters=f"Currency does not apply (revenue is converted to {REPORTING_CURRENCY}). Plan, "
    f"signup source and country apply to every figure, rebuilt from "
    f"`{SILVER_PRODUCT_EVENTS.name}`, `{SILVER_ORDERS.name}` and `{SILVER_ORDER_ITEMS.name}` "
    f"of the users `{SILVER_USERS.name}` gives those attributes.",
)


def body(ctx: frame.Context) -> None:
    """Draws the product figures of the range."""
    scope = ctx.scope
    rows = cache.product_performance(ctx.settings, replace(scope, first=scope.previous().first))
    shown = rows.filter(pl.col("day") >= scope.first)
    earlier = rows.filter(pl.col("day") < scope.first)
    names = cache.products(ctx.settings, scope)
    totals = performance_totals(shown, names)
    cells = st.columns(4)
    for cell, column, label in (
        (cells[0], "views", "Product views"),
        (cells[1], "add_to_carts", "Add-to-carts"),
        (cells[2], "units", "Units sold"),
        (cells[3], "revenue", f"Revenue ({REPORTING_CURRENCY})"),
    ):
        previous = figures.number(earlier[column].sum()) if earlier.height else None
        fig = DayFigure(scope.last, figures.number(shown[column].sum()), previous)
        money = column == "revenue"
        value = (
            figures.format_amount(fig.value, REPORTING_CURRENCY)
            if money
            else figures.format_count(fig.value)
        )
        delta = figures.delta_amount(fig) if money else figures.delta_count(fig)
        notes = [n for d in shown["day"].unique().to_list() for n in restated.for_figure(ctx.restated, GOLD_PRODUCT_PERFORMANCE.name, d, column)] if ctx.restated.height else []  # fmt: skip
        label, help_text = widgets.marked(
            label, f"Summed over {scope.days} days and every product.", notes
        )
        with cell:
            widgets.metric(label, value, delta, help=help_text)
    rank: str = st.radio(
        "Rank products by",
        list(RANKS),
        format_func=RANKS.__getitem__,
        key=RANK_KEY,
        horizontal=True,
    )
    left, right = st.columns(2)
    with left:
        st.subheader(f"🏆 Top 15 products by {RANKS[rank]}")
        labeled = totals.with_columns(label=pl.col("name").fill_null(pl.col("product_id")))
        widgets.chart(
            charts.bars(labeled, "label", rank, title=RANKS[rank], top=15, color="category")
        )
    with right:
        st.subheader(f"🗂️ Categories by {RANKS[rank]}")
        categories = performance_by_category(shown)
        widgets.chart(charts.bars(categories, "category", rank, title=RANKS[rank]))
    widgets.table(totals, "Products", key="product_totals")
    widgets.table(categories, "Categories", key="product_categories")


frame.show(INFO, body)
