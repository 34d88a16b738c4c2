"""Totals the Revenue, Products and Funnel pages show, from query results: pure functions.

Amounts keep their currency wherever the source has one: totals are per currency, never summed
across currencies.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from dashboard.data.scope import Scope


def currency_totals(revenue: pl.DataFrame, scope: Scope) -> pl.DataFrame:
    """Returns one row per currency: orders, revenue and average order value over the scope's
    days, the revenue of the period before, and the change (null when there was none).

    Args:
        revenue: gold/revenue_daily rows covering the scope and the period before it.
    """
    before = scope.previous()

    def totals(first: date, last: date, suffix: str) -> pl.DataFrame:
        rows = revenue.filter(pl.col("day").is_between(first, last))
        return rows.group_by("currency").agg(
            pl.col("orders").sum().alias(f"orders{suffix}"),
            pl.col("revenue").sum().alias(f"revenue{suffix}"),
        )

    now = totals(scope.first, scope.last, "")
    then = totals(before.first, before.last, "_previous")
    return (
        now.join(then, on="currency", how="full", coalesce=True)
        .with_columns(pl.col("orders", "revenue").fill_null(0))
        .with_columns(
            avg_order_value=pl.when(pl.col("orders") > 0).then(pl.col("revenue") / pl.col("orders")),
            change=pl.when(pl.col("revenue_previous") > 0).then(
                pl.col("revenue") / pl.col("revenue_previous") - 1
            ),
        )
        .select(
            "currency", "orders", "revenue", "avg_order_value", "orders_previous",
            "revenue_previous", "change",
        )
        .sort(["orders", "currency"], descending=[True, False])
    )  # fmt: skip


def product_totals(by_product: pl.DataFrame, products: pl.DataFrame) -> pl.DataFrame:
    """Returns one row per product and currency over the days of `by_product`: units,
    revenue, with the product's name and category; largest revenue first.

    Args:
        by_product: gold/revenue_by_product rows.
        products: the product dimension (product_id, name, category).
    """
    return (
        by_product.group_by("product_id", "currency")
        .agg(pl.col("units").sum(), pl.col("revenue").sum())
        .join(products, on="product_id", how="left")
        .select("product_id", "name", "category", "currency", "units", "revenue")
        .sort(["revenue", "product_id"], descending=[True, False])
    )


def category_totals(product_rows: pl.DataFrame) -> pl.DataFrame:
    """Returns one row per category and currency of `product_totals` rows: products sold,
    units, revenue; largest revenue first. A product outside the dimension is "(unknown)"."""
    return (
        product_rows.with_columns(pl.col("category").fill_null("(unknown)"))
        .group_by("category", "currency")
        .agg(products=pl.len(), units=pl.col("units").sum(), revenue=pl.col("revenue").sum())
        .sort(["revenue", "category"], descending=[True, False])
    )


def performance_totals(performance: pl.DataFrame, products: pl.DataFrame) -> pl.DataFrame:
    """Returns one row per product of gold/product_performance rows over their days: views,
    add-to-carts, units, revenue (EUR), view-to-cart rate, with its name; most revenue first."""
    return (
        performance.group_by("product_id")
        .agg(
            pl.col("category").drop_nulls().first(),
            pl.col("views", "add_to_carts", "units", "revenue").sum(),
        )
        .join(products.select("product_id", "name"), on="product_id", how="left")
        .with_columns(
            cart_rate=pl.when(pl.col("views") > 0).then(pl.col("add_to_carts") / pl.col("views"))
        )
        .select(
            "product_id", "name", "category", "views", "add_to_carts", "cart_rate", "units",
            "revenue",
        )
        .sort(["revenue", "views", "product_id"], descending=[True, True, False])
    )  # fmt: skip


def performance_by_category(performance: pl.DataFrame) -> pl.DataFrame:
    """Returns one row per category of gold/product_performance rows: views, add-to-carts,
    units, revenue (EUR); most revenue first."""
    return (
        performance.with_columns(pl.col("category").fill_null("(unknown)"))
        .group_by("category")
        .agg(pl.col("views", "add_to_carts", "units", "revenue").sum())
        .sort(["revenue", "category"], descending=[True, False])
    )


FUNNEL_STEPS = (("viewed", "👀 viewed a product"), ("carted", "🛒 added to cart"),
                ("ordered", "✅ ordered"))  # fmt: skip


def funnel_totals(funnel: pl.DataFrame) -> pl.DataFrame:
    """Returns one row per funnel step: `step`, `users` (summed over the days: a user who
    enters on two days counts twice) and `share` of the first step."""
    sums = [int(funnel[column].sum()) if funnel.height else 0 for column, _ in FUNNEL_STEPS]
    top = sums[0]
    return pl.DataFrame(
        {
            "step": [label for _, label in FUNNEL_STEPS],
            "users": sums,
            "share": [s / top if top else None for s in sums],
        },
        schema={"step": pl.String, "users": pl.Int64, "share": pl.Float64},
    )
