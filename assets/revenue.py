"""Daily revenue (gold/revenue_daily): orders and revenue per day and currency, each order once.

An order is identified by `payload.order_id`. When several `order_placed` events carry one
order_id, only the earliest by event time counts (ties: the smallest event_id), on that
event's day and in that event's currency, wherever the others lie. So the figures of day D
depend on the orders of every day: the asset reads all order_placed events, and when a run
rewrites some days, other days sharing an order_id with them may change too
(`days_sharing_orders` finds them for the follow-up runs). Amounts are summed per currency,
never converted.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import dagster as dg
import polars as pl

from assets.day_range import day_asset_spec_kwargs, lake_settings, run_days, write_days
from eventlake import lake
from eventlake.catalog import GOLD_REVENUE_DAILY, SILVER_EVENTS

ORDER_PLACED = "order_placed"
ORDER_FIELDS = pl.Struct({"order_id": pl.String, "total_amount": pl.Float64, "currency": pl.String})


def counted_orders(events: pl.LazyFrame) -> pl.LazyFrame:
    """One row per order_id: the earliest order_placed event carrying it (ties: smallest event_id).

    Args:
        events: silver events (any types, any days); only order_placed rows are used.

    Returns:
        Columns `order_id`, `event_id`, `event_time`, `event_date`, `total_amount`, `currency`.
    """
    return (
        events.filter(pl.col("event_type") == ORDER_PLACED)
        .select(
            "event_id",
            "event_time",
            "event_date",
            order=pl.col("payload").str.json_decode(ORDER_FIELDS),
        )
        .unnest("order")
        .filter(pl.col("order_id").is_not_null())
        .sort("event_time", "event_id", nulls_last=True)
        .unique("order_id", keep="first", maintain_order=True)
        .select("order_id", "event_id", "event_time", "event_date", "total_amount", "currency")
    )


def revenue_daily(events: pl.LazyFrame, first: date, last: date) -> pl.LazyFrame:
    """One row per day in [first, last] and currency with counted orders: orders, revenue, AOV.

    Args:
        events: silver events of ALL days (at least every order_placed event): an order
            counts on the day of its earliest event, which may lie outside [first, last].
        first: the first day to report.
        last: the last day to report (inclusive).

    Returns:
        `day`, `currency`, `orders`, `revenue` (sum of total_amount) and `avg_order_value`
        (revenue / orders), sorted by day and currency. Day and currency pairs without
        orders have no row.
    """
    return (
        counted_orders(events)
        .filter(pl.col("event_date").is_between(first, last))
        .group_by(day=pl.col("event_date"), currency=pl.col("currency"))
        .agg(orders=pl.len(), revenue=pl.col("total_amount").sum())
        .with_columns(avg_order_value=pl.col("revenue") / pl.col("orders"))
        .sort("day", "currency")
        .cast(GOLD_REVENUE_DAILY.schema)
    )


def days_sharing_orders(events: pl.LazyFrame, days: Iterable[date]) -> pl.LazyFrame:
    """One row (`event_date`) per day outside `days` with an order_id that also occurs on `days`.

    When `days` are rewritten, which event of such an order counts may change, and with it
    the figures of these other days.
    """
    wanted = pl.Series(sorted(set(days)), dtype=pl.Date)
    orders = (
        events.filter(pl.col("event_type") == ORDER_PLACED)
        .select(
            "event_date",
            order_id=pl.col("payload").str.json_decode(ORDER_FIELDS).struct.field("order_id"),
        )
        .filter(pl.col("order_id").is_not_null())
    )
    inside = pl.col("event_date").is_in(wanted)
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

    # The identity mapping to silver is the main dependency; the cross-day order dedup is
    # handled by reading every day's orders here and by the follow-up runs of the sensors.
    @dg.asset(
        partitions_def=partitions_def,
        deps=[SILVER_EVENTS.asset_key],
        **day_asset_spec_kwargs(GOLD_REVENUE_DAILY),
    )
    def revenue_daily_days(
        context,
    ) -> dg.MaterializeResult:  # Dagster rejects a string-annotated context
        settings = lake_settings(context)
        first, last = run_days(context)
        # Cost: every day's order_placed rows are read (for the order_id dedup), not just the
        # run's days; orders are a small share of events.
        orders = lake.scan(settings, SILVER_EVENTS).filter(pl.col("event_type") == ORDER_PLACED)
        frame = revenue_daily(orders, first, last).collect()
        return write_days(settings, GOLD_REVENUE_DAILY, frame, first, last)

    return revenue_daily_days
