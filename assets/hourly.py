"""Intraday read models: traffic and revenue per UTC hour (docs/metrics.md, "Hourly figures").

gold/traffic_hourly has one row per hour with events: the silver events of that hour and the
distinct users among them. gold/revenue_hourly has one row per hour and currency with counted
orders: an order counts once, at its earliest event (`revenue.counted_orders`), so in that
event's hour. Both are partitioned by the hour's UTC day and maintained like the daily tables:
a late event re-materializes its day, and an order re-sent on another day moves the days the
follow-ups find through the data (orchestration/followups.py, `ORDER_TABLES`).
"""

from __future__ import annotations

from datetime import date

import dagster as dg
import polars as pl

from assets.day_range import day_table_asset
from assets.revenue import counted_orders
from eventlake import lake
from eventlake.catalog import GOLD_REVENUE_HOURLY, GOLD_TRAFFIC_HOURLY, SILVER_EVENTS, SILVER_ORDERS
from eventlake.settings import Settings

_HOUR = pl.col("event_time").dt.truncate("1h")


def traffic_hourly(events: pl.LazyFrame, first: date, last: date) -> pl.LazyFrame:
    """One row per hour of the days [first, last] with events: events and active users.

    Args:
        events: silver/events rows (`event_date`, `event_time`, `user_id`) of at least those days.
    """
    return (
        events.filter(pl.col("event_date").is_between(first, last))
        .group_by(day=pl.col("event_date"), hour=_HOUR)
        .agg(events=pl.len(), active_users=pl.col("user_id").drop_nulls().n_unique())
        .sort("hour")
        .cast(GOLD_TRAFFIC_HOURLY.schema)
    )


def revenue_hourly(orders: pl.LazyFrame, first: date, last: date) -> pl.LazyFrame:
    """One row per hour of the days [first, last] and currency with counted orders.

    Args:
        orders: silver/orders of ALL days: an order counts at its earliest event, which may
            lie outside [first, last].
    """
    return (
        counted_orders(orders)
        .filter(pl.col("event_date").is_between(first, last))
        .group_by(day=pl.col("event_date"), hour=_HOUR, currency=pl.col("currency"))
        .agg(orders=pl.len(), revenue=pl.col("total_amount").sum())
        .sort("hour", "currency")
        .cast(GOLD_REVENUE_HOURLY.schema)
    )


def traffic_hourly_asset(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """Returns the asset building gold/traffic_hourly for a run's range of days."""

    def build(settings: Settings, first: date, last: date) -> pl.LazyFrame:
        events = lake.scan_days(settings, SILVER_EVENTS, first, last)
        return traffic_hourly(events.select("event_date", "event_time", "user_id"), first, last)

    deps = [SILVER_EVENTS.asset_key]
    return day_table_asset(GOLD_TRAFFIC_HOURLY, partitions_def, deps, build)


def revenue_hourly_asset(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """Returns the asset building gold/revenue_hourly for a run's range of days."""

    def build(settings: Settings, first: date, last: date) -> pl.LazyFrame:
        return revenue_hourly(lake.scan(settings, SILVER_ORDERS), first, last)

    deps = [SILVER_ORDERS.asset_key]
    return day_table_asset(GOLD_REVENUE_HOURLY, partitions_def, deps, build)
