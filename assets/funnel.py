"""The purchase funnel (gold/funnel_daily): view, then cart, then order, within 24 h.

A user enters the funnel of day D at their first `product_view` of D (time e). They reach
step 2 (carted) with an `add_to_cart` at or after e and at most 24 h after e; step 3 (ordered)
with a counted order (see `revenue.counted_orders`) at or after their first such add_to_cart
and at most 24 h after e. Events at the same instant count as "after": event order within a
microsecond is not recorded. Any product counts at each step. The figures of D read the
product events of D and D+1 and the counted orders of D and D+1.
"""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg
import polars as pl

from assets import checks
from assets.day_range import day_table_asset, window
from assets.revenue import counted_orders
from eventlake import lake
from eventlake.catalog import GOLD_FUNNEL_DAILY, SILVER_ORDERS, SILVER_PRODUCT_EVENTS
from eventlake.settings import Settings

WINDOW = timedelta(hours=24)


def funnel_daily(
    product_events: pl.LazyFrame, orders: pl.LazyFrame, first: date, last: date
) -> pl.LazyFrame:
    """One row per day in [first, last]: users entering, carting and ordering; rates; median.

    Args:
        product_events: silver/product_events of at least [first, last + 1].
        orders: silver/orders of every day (an order counts at its earliest event).

    Returns:
        viewed >= carted >= ordered; view_to_cart = carted / viewed, cart_to_order = ordered /
        carted, view_to_order = ordered / viewed (null when the divisor is 0);
        median_seconds_to_order = median over ordering users of the seconds from entry to
        their first qualifying order (null when nobody ordered). Every day of the range has
        a row.
    """
    user_events = product_events.filter(pl.col("user_id").is_not_null())
    entries = (
        user_events.filter(
            pl.col("event_type") == "product_view", pl.col("event_date").is_between(first, last)
        )
        .group_by(day=pl.col("event_date"), user_id=pl.col("user_id"))
        .agg(entry=pl.col("event_time").min())
    )
    carts = user_events.filter(pl.col("event_type") == "add_to_cart").select(
        "user_id", cart="event_time"
    )
    carted = (
        entries.join(carts, on="user_id")
        .filter(pl.col("cart").is_between(pl.col("entry"), pl.col("entry") + WINDOW))
        .group_by("day", "user_id")
        .agg(pl.col("entry").first(), first_cart=pl.col("cart").min())
    )
    counted = counted_orders(orders).select("user_id", order="event_time")
    ordered = (
        carted.join(counted, on="user_id")
        .filter(pl.col("order").is_between(pl.col("first_cart"), pl.col("entry") + WINDOW))
        .group_by("day", "user_id")
        .agg(seconds=(pl.col("order").min() - pl.col("entry").first()).dt.total_microseconds())
    )
    per_day = (
        entries.group_by("day")
        .agg(viewed=pl.len())
        .join(carted.group_by("day").agg(carted=pl.len()), on="day", how="left")
        .join(
            ordered.group_by("day").agg(
                ordered=pl.len(), median_seconds_to_order=(pl.col("seconds") / 1e6).median()
            ),
            on="day",
            how="left",
        )
    )
    calendar = pl.LazyFrame({"day": pl.date_range(first, last, eager=True)})

    def rate(num: str, den: str) -> pl.Expr:
        return pl.when(pl.col(den) > 0).then(pl.col(num) / pl.col(den))

    return (
        calendar.join(per_day, on="day", how="left")
        .with_columns(pl.col("viewed", "carted", "ordered").fill_null(0))
        .with_columns(
            view_to_cart_rate=rate("carted", "viewed"),
            cart_to_order_rate=rate("ordered", "carted"),
            view_to_order_rate=rate("ordered", "viewed"),
        )
        .select(GOLD_FUNNEL_DAILY.schema.names())
        .sort("day")
        .cast(GOLD_FUNNEL_DAILY.schema)
    )


def funnel_daily_asset(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """Returns the asset building gold/funnel_daily: day D reads silver days D and D+1."""

    def build(settings: Settings, first: date, last: date) -> pl.LazyFrame:
        product = lake.scan_days(
            settings, SILVER_PRODUCT_EVENTS, first, last + timedelta(days=1)
        ).filter(pl.col("event_type").is_in(["product_view", "add_to_cart"]))
        return funnel_daily(product, lake.scan(settings, SILVER_ORDERS), first, last)

    deps = [
        dg.AssetDep(SILVER_PRODUCT_EVENTS.asset_key, partition_mapping=window(0, 1)),
        dg.AssetDep(SILVER_ORDERS.asset_key, partition_mapping=window(0, 1)),
    ]
    narrows = checks.RowCheck(
        checks.FUNNEL_NARROWS, "viewed >= carted >= ordered on every day.", checks.funnel_widening
    )
    return day_table_asset(GOLD_FUNNEL_DAILY, partitions_def, deps, build, narrows)
