"""Revenue read models: gold/revenue_daily (day x currency) and gold/revenue_by_product.

An order is identified by `order_id`. When several `order_placed` events carry one order_id,
only the earliest by event time counts (ties: the smallest event_id), on that event's day and
in that event's currency, wherever the others lie — its items are the counted event's items.
So the figures of day D depend on the orders of every day: the assets read every day's
silver/orders (a small table), and when a run rewrites some days, other days sharing an
order_id with them may change too (`days_sharing_orders` finds them for the follow-up runs).
Amounts are summed per currency, never converted.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import dagster as dg
import polars as pl

from assets import checks
from assets.day_range import day_table_asset
from eventlake import lake
from eventlake.catalog import (
    GOLD_REVENUE_BY_PRODUCT,
    GOLD_REVENUE_DAILY,
    SILVER_ORDER_ITEMS,
    SILVER_ORDERS,
)
from eventlake.settings import Settings

ORDER_PLACED = "order_placed"


def counted_orders(orders: pl.LazyFrame) -> pl.LazyFrame:
    """One row per order_id: its earliest order_placed event (ties: the smallest event_id).

    Args:
        orders: silver/orders rows (of every day that may hold a copy of the orders wanted).
    """
    return (
        orders.filter(pl.col("order_id").is_not_null())
        .sort("event_time", "event_id", nulls_last=True)
        .unique("order_id", keep="first", maintain_order=True)
    )


def revenue_daily(orders: pl.LazyFrame, first: date, last: date) -> pl.LazyFrame:
    """One row per day in [first, last] and currency with counted orders: orders, revenue, AOV.

    Args:
        orders: silver/orders of ALL days: an order counts on the day of its earliest event,
            which may lie outside [first, last].

    Returns:
        `day`, `currency`, `orders`, `revenue` (sum of total_amount) and `avg_order_value`
        (revenue / orders), sorted by day and currency. Day and currency pairs without
        orders have no row.
    """
    return (
        counted_orders(orders)
        .filter(pl.col("event_date").is_between(first, last))
        .group_by(day=pl.col("event_date"), currency=pl.col("currency"))
        .agg(orders=pl.len(), revenue=pl.col("total_amount").sum())
        .with_columns(avg_order_value=pl.col("revenue") / pl.col("orders"))
        .sort("day", "currency")
        .cast(GOLD_REVENUE_DAILY.schema)
    )


def counted_items(
    orders: pl.LazyFrame, items: pl.LazyFrame, first: date, last: date
) -> pl.LazyFrame:
    """One row per item of the orders counted on a day in [first, last] (silver/order_items
    columns), whatever days `items` spans."""
    counted = (
        counted_orders(orders)
        .filter(pl.col("event_date").is_between(first, last))
        .select("event_id")
    )
    return items.filter(pl.col("event_date").is_between(first, last)).join(
        counted, on="event_id", how="semi"
    )


def revenue_by_product(
    orders: pl.LazyFrame, items: pl.LazyFrame, first: date, last: date
) -> pl.LazyFrame:
    """One row per day in [first, last], product and currency sold: units and revenue.

    units = sum of quantity, revenue = sum of quantity x unit_price (after upcasting) over the
    items of the counted orders (see `counted_orders`), on the counted event's day.
    """
    return (
        counted_items(orders, items, first, last)
        .group_by(day=pl.col("event_date"), product_id=pl.col("product_id"), currency="currency")
        .agg(
            units=pl.col("quantity").sum(),
            revenue=(pl.col("quantity") * pl.col("unit_price")).sum(),
        )
        .sort("day", "product_id", "currency")
        .cast(GOLD_REVENUE_BY_PRODUCT.schema)
    )


def days_sharing_orders(orders: pl.LazyFrame, days: Iterable[date]) -> pl.LazyFrame:
    """One row (`event_date`) per day outside `days` with an order_id that also occurs on `days`.

    When `days` are rewritten, which event of such an order counts may change, and with it
    the figures of these other days.
    """
    wanted = pl.Series(sorted(set(days)), dtype=pl.Date)
    inside = pl.col("event_date").is_in(wanted.implode())
    shared = orders.filter(inside).select("order_id").unique()
    return (
        orders.filter(~inside)
        .join(shared, on="order_id", how="semi")
        .select("event_date")
        .unique()
        .sort("event_date")
    )


def revenue_daily_asset(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """Returns the Dagster asset that builds gold/revenue_daily for a run's range of days."""

    def build(settings: Settings, first: date, last: date) -> pl.LazyFrame:
        return revenue_daily(lake.scan(settings, SILVER_ORDERS), first, last)

    check = checks.RowCheck(
        checks.NO_NEGATIVE_REVENUE,
        "No day and currency with negative revenue.",
        checks.negative_revenue,
    )
    # The identity mapping is the main dependency; the cross-day order dedup is handled by
    # reading every day's orders here and by the follow-up runs of the sensors.
    deps = [SILVER_ORDERS.asset_key]
    return day_table_asset(GOLD_REVENUE_DAILY, partitions_def, deps, build, check)


def revenue_by_product_asset(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """Returns the Dagster asset that builds gold/revenue_by_product for a run's range of days."""

    def build(settings: Settings, first: date, last: date) -> pl.LazyFrame:
        orders = lake.scan(settings, SILVER_ORDERS)
        items = lake.scan_days(settings, SILVER_ORDER_ITEMS, first, last)
        return revenue_by_product(orders, items, first, last)

    check = checks.RowCheck(
        checks.NO_NEGATIVE_REVENUE, "No product with negative revenue.", checks.negative_revenue
    )
    deps = [SILVER_ORDERS.asset_key, SILVER_ORDER_ITEMS.asset_key]
    return day_table_asset(GOLD_REVENUE_BY_PRODUCT, partitions_def, deps, build, check)
