"""Today minute by minute and hour by hour, live from the log. No Streamlit.

Tumbling windows: each minute of the last hour and each hour of today so far hold the events
whose time falls in them and the distinct users among them (every window shown, empty ones as
0). Hopping: the last 60 minutes as one figure, the window advancing with the clock at every
refresh: events, users, and the orders counted in it with their revenue per currency. All from
today's bronze events cleaned as silver does (`live.day_events`), as the Overview's other live
figures; an hour of the past days is in gold/traffic_hourly and gold/revenue_hourly, whose
definitions these follow (docs/metrics.md, "Hourly figures").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import polars as pl

from dashboard.data import live
from dashboard.data.scope import Scope
from eventlake.settings import Settings

WINDOW = timedelta(hours=1)
_UTC_US = pl.Datetime("us", "UTC")
TUMBLING = pl.Schema({"start": _UTC_US, "events": pl.Int64(), "active_users": pl.Int64()})
ROLLING_REVENUE = pl.Schema(
    {"currency": pl.String(), "orders": pl.Int64(), "revenue": pl.Float64()}
)


@dataclass(frozen=True)
class Intraday:
    """Today's windows as of `now`."""

    now: datetime
    minutes: pl.DataFrame  # TUMBLING: the 60 minutes ending with the current one
    hours: pl.DataFrame  # TUMBLING: every hour of today up to the current one
    last_hour_events: int  # the hopping window [now - 60 min, now]
    last_hour_users: int
    last_hour_revenue: pl.DataFrame  # ROLLING_REVENUE of the orders counted in that window


def intraday(settings: Settings, scope: Scope) -> Intraday:
    """Returns today's windows (the scope's last day), as of the wall clock."""
    now = datetime.now(UTC)
    events, _ = live.day_events(settings, scope.last)
    past = live.past_order_ids(settings, Scope(last=scope.last))
    return windows(events, past, now)


def windows(events: pl.DataFrame, past_orders: pl.DataFrame, now: datetime) -> Intraday:
    """Returns the windows of `events` (one day's, `live.day_events` columns) as of `now`.

    Args:
        past_orders: `live.past_order_ids` of the day: orders counted on an earlier day.
    """
    minute = now.replace(second=0, microsecond=0)
    start_of_day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    recent = events.filter(pl.col("event_time").is_between(now - WINDOW, now))
    return Intraday(
        now=now,
        minutes=tumbling(events, minute - timedelta(minutes=59), minute, "1m"),
        hours=tumbling(events, start_of_day, now.replace(minute=0, second=0, microsecond=0), "1h"),
        last_hour_events=recent.height,
        last_hour_users=recent.get_column("user_id").drop_nulls().n_unique(),
        last_hour_revenue=counted_revenue(recent, past_orders, events),
    )


def tumbling(events: pl.DataFrame, first: datetime, last: datetime, every: str) -> pl.DataFrame:
    """One row per window of length `every` starting from `first` to `last` (both window
    starts, included): events and distinct users whose event time falls in the window."""
    starts = pl.datetime_range(first, last, every, time_zone="UTC", eager=True).alias("start")
    counts = (
        events.filter(pl.col("event_time") >= first)
        .group_by(start=pl.col("event_time").dt.truncate(every))
        .agg(events=pl.len(), active_users=pl.col("user_id").drop_nulls().n_unique())
    )
    return (
        pl.DataFrame(starts.cast(_UTC_US))
        .join(counts, on="start", how="left")
        .with_columns(pl.col("events", "active_users").fill_null(0))
        .cast(TUMBLING)
    )


def counted_revenue(
    recent: pl.DataFrame, past_orders: pl.DataFrame, day: pl.DataFrame
) -> pl.DataFrame:
    """Orders and revenue per currency of the orders counted in `recent`: an order counts at
    its earliest event, so not when an earlier day or an earlier event of `day` placed it."""
    from assets.revenue import counted_orders  # deferred: the dashboard starts without Dagster
    from assets.typed_silver import decoded_orders, orders

    placed = orders(decoded_orders(day.lazy().filter(pl.col("event_type") == "order_placed")))
    counted = (
        counted_orders(placed)
        .with_columns(order_hash=live.ORDER_HASH)
        .join(past_orders.lazy(), on="order_hash", how="anti")
        .join(recent.lazy().select("event_id"), on="event_id", how="semi")
    )
    return (
        counted.group_by("currency")
        .agg(orders=pl.len(), revenue=pl.col("total_amount").sum())
        .sort("currency")
        .collect()
        .cast(ROLLING_REVENUE)
    )
