"""Product performance (gold/product_performance): per day and product, views to revenue.

views = product_view events of the product that day; add_to_carts = add_to_cart events;
units and revenue from the items of the orders counted that day (`revenue.counted_items`),
revenue converted to the reporting currency (EUR) with the static rate table of
`eventlake.currencies` (items in a currency without a rate add units but no revenue).
`category` comes from the product catalog dimension: the lake table dim/products when it
exists (a user's own catalog), else the built-in catalog the simulator sells from; a product
missing from the dimension has a null category. A product appears on a day when it had any
view, add-to-cart or counted sale.
"""

from __future__ import annotations

from datetime import date

import dagster as dg
import polars as pl

from assets import checks
from assets.day_range import day_table_asset
from assets.revenue import counted_items
from eventlake import lake
from eventlake.catalog import (
    DIM_PRODUCTS,
    GOLD_PRODUCT_PERFORMANCE,
    SILVER_ORDER_ITEMS,
    SILVER_ORDERS,
    SILVER_PRODUCT_EVENTS,
)
from eventlake.currencies import to_reporting
from eventlake.default_products import products_frame
from eventlake.settings import Settings

DIM_PRODUCTS_SOURCE = dg.AssetSpec(
    key=DIM_PRODUCTS.asset_key,
    description=DIM_PRODUCTS.description + " Maintained by the user, outside Dagster.",
    group_name="dim",
    kinds={"delta"},
    metadata={"table": DIM_PRODUCTS.name},
)


def product_dimension(settings: Settings) -> pl.LazyFrame:
    """Returns dim/products when the table exists, else the built-in catalog."""
    if lake.open_table(settings, DIM_PRODUCTS) is None:
        return products_frame().lazy()
    return lake.scan(settings, DIM_PRODUCTS)


def product_performance(
    product_events: pl.LazyFrame,
    orders: pl.LazyFrame,
    items: pl.LazyFrame,
    products: pl.LazyFrame,
    first: date,
    last: date,
) -> pl.LazyFrame:
    """One row per day in [first, last] and product with activity, sorted by day and product.

    Args:
        product_events: silver/product_events of [first, last] (or more).
        orders: silver/orders of every day (an order counts at its earliest event).
        items: silver/order_items of [first, last] (or more).
        products: the catalog dimension (product_id, category); one row per product_id.
    """
    in_range = pl.col("event_date").is_between(first, last)
    kind = pl.col("event_type")
    interest = (
        product_events.filter(in_range, pl.col("product_id").is_not_null())
        .group_by(day=pl.col("event_date"), product_id=pl.col("product_id"))
        .agg(
            views=(kind == "product_view").sum().cast(pl.Int64),
            add_to_carts=(kind == "add_to_cart").sum().cast(pl.Int64),
        )
    )
    sales = (
        counted_items(orders, items, first, last)
        .group_by(day=pl.col("event_date"), product_id=pl.col("product_id"))
        .agg(
            units=pl.col("quantity").sum(),
            revenue=to_reporting(
                pl.col("quantity") * pl.col("unit_price"), pl.col("currency")
            ).sum(),
        )
    )
    categories = products.select("product_id", "category").unique("product_id", keep="first")
    return (
        interest.join(sales, on=["day", "product_id"], how="full", coalesce=True)
        .with_columns(pl.col("views", "add_to_carts", "units").fill_null(0))
        .with_columns(pl.col("revenue").fill_null(0.0))
        .join(categories, on="product_id", how="left")
        .select(GOLD_PRODUCT_PERFORMANCE.schema.names())
        .sort("day", "product_id")
        .cast(GOLD_PRODUCT_PERFORMANCE.schema)
    )


def product_performance_asset(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """Returns the asset building gold/product_performance for a run's range of days."""

    def build(settings: Settings, first: date, last: date) -> pl.LazyFrame:
        return product_performance(
            lake.scan_days(settings, SILVER_PRODUCT_EVENTS, first, last),
            lake.scan(settings, SILVER_ORDERS),
            lake.scan_days(settings, SILVER_ORDER_ITEMS, first, last),
            product_dimension(settings),
            first,
            last,
        )

    check = checks.RowCheck(
        checks.NO_NEGATIVE_REVENUE, "No product with negative revenue.", checks.negative_revenue
    )
    deps = [
        SILVER_PRODUCT_EVENTS.asset_key,
        SILVER_ORDERS.asset_key,
        SILVER_ORDER_ITEMS.asset_key,
        DIM_PRODUCTS.asset_key,
    ]
    return day_table_asset(GOLD_PRODUCT_PERFORMANCE, partitions_def, deps, build, check)
