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
from assets.day_range import day_asset_spec_kwargs, lake_settings, run_days, write_days
from assets.timings import Phases
from eventlake import lake
from eventlake.catalog import (
    GOLD_REVENUE_BY_PRODUCT,
    GOLD_REVENUE_DAILY,
    SILVER_ORDER_ITEMS,
    SILVER_ORDERS,
)

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

    # The identity mapping is the main dependency; the cross-day order dedup is handled by
    # reading every day's orders here and by the follow-up runs of the sensors.
    @dg.asset(
        partitions_def=partitions_def,
        deps=[SILVER_ORDERS.asset_key],
        check_specs=[
            checks.spec(
                checks.NO_NEGATIVE_REVENUE,
                GOLD_REVENUE_DAILY.asset_key,
                "No day and currency with negative revenue.",
                blocking=False,
            )
        ],
        **day_asset_spec_kwargs(GOLD_REVENUE_DAILY),
    )
    def revenue_daily_days(context) -> dg.MaterializeResult:  # Dagster rejects "context" typed
        settings = lake_settings(context)
        phases = Phases()
        first, last = run_days(context)
        frame = revenue_daily(lake.scan(settings, SILVER_ORDERS), first, last).collect()
        bad = checks.negative(frame.lazy(), "revenue").collect()
        found = [checks.result(checks.NO_NEGATIVE_REVENUE, GOLD_REVENUE_DAILY.asset_key, bad)]
        phases.lap("compute")
        return write_days(settings, GOLD_REVENUE_DAILY, frame, first, last, found, phases=phases)

    return revenue_daily_days


def revenue_by_product_asset(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """Returns the Dagster asset that builds gold/revenue_by_product for a run's range of days."""

    @dg.asset(
        partitions_def=partitions_def,
        deps=[SILVER_ORDERS.asset_key, SILVER_ORDER_ITEMS.asset_key],
        check_specs=[
            checks.spec(
                checks.NO_NEGATIVE_REVENUE,
                GOLD_REVENUE_BY_PRODUCT.asset_key,
                "No product with negative revenue.",
                blocking=False,
            )
        ],
        **day_asset_spec_kwargs(GOLD_REVENUE_BY_PRODUCT),
    )
    def revenue_by_product_days(context) -> dg.MaterializeResult:  # see revenue_daily_days
        settings = lake_settings(context)
        phases = Phases()
        first, last = run_days(context)
        orders = lake.scan(settings, SILVER_ORDERS)
        items = lake.scan_days(settings, SILVER_ORDER_ITEMS, first, last)
        frame = revenue_by_product(orders, items, first, last).collect()
        bad = checks.negative(frame.lazy(), "revenue").collect()
        key = GOLD_REVENUE_BY_PRODUCT.asset_key
        found = [checks.result(checks.NO_NEGATIVE_REVENUE, key, bad)]
        phases.lap("compute")
        return write_days(
            settings, GOLD_REVENUE_BY_PRODUCT, frame, first, last, found, phases=phases
        )

    return revenue_by_product_days
