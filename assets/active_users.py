"""Daily active users (gold/daily_active_users): distinct users per day and over 7 and 30 days.

A user is active on day D when any silver event dated D carries their `payload.user_id`
(events without one, none of the registered types today, are ignored).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

import dagster as dg
import polars as pl

from assets import checks
from assets.day_range import day_table_asset, window
from eventlake import lake
from eventlake.catalog import GOLD_DAILY_ACTIVE_USERS, SILVER_USER_ACTIVITY_DAILY
from eventlake.settings import Settings

WAU_DAYS = 7
MAU_DAYS = 30
LOOKBACK_DAYS = MAU_DAYS - 1  # the figures of day D read the events of D-29..D
_DAY_SLOTS = 1 << 20  # days per user in a packed (user, day) key: ~2,800 years


def daily_active_users(events: pl.LazyFrame, first: date, last: date) -> pl.LazyFrame:
    """One row per day in [first, last], days without events included: DAU, WAU, MAU, stickiness.

    dau = distinct users active on D; wau over D-6..D; mau over D-29..D; stickiness = dau / mau,
    0.0 on a day whose MAU is 0 (no one active for 30 days: nothing to be sticky about, and a
    number keeps the column plottable).

    Args:
        events: rows with `user_id` and `event_date`, covering at least [first - 29, last];
            rows outside that span are ignored.
        first: the first day to report.
        last: the last day to report (inclusive).

    Algorithm: take each user's distinct active days a1 < a2 < ... . For a window of w days,
    day ai makes the user count on days [ai, min(ai + w, a(i+1)) - 1]; those intervals are
    disjoint per user, so the window count of D is the number of intervals covering D: +1 at
    the start, -1 at the end, and a running sum over the calendar. The cost is one sort of the
    distinct (user, day) pairs, with no fan-out per window day; users and days are packed into
    one integer first, which sorts several times faster than (string, date) pairs. Measured on
    2 cores: 10M events of 500k users over 90 days in ~1.3 s (exploding each pair over its
    30 window days: ~5 s).

    Raises:
        ValueError: the span [first - 29, last] is absurdly long (over a million days).
    """
    start = first - timedelta(days=LOOKBACK_DAYS)
    if (last - start).days >= _DAY_SLOTS:
        raise ValueError(f"{first}..{last} spans too many days")
    in_window = events.filter(
        pl.col("user_id").is_not_null(), pl.col("event_date").is_between(start, last)
    )
    # Dense user numbers from a join, not a Categorical: no process-wide string cache grows.
    users = in_window.select("user_id").unique().with_row_index("user_n")
    day_n = (pl.col("event_date") - pl.lit(start)).dt.total_days()
    active = (
        in_window.join(users, on="user_id")
        .select(key=pl.col("user_n").cast(pl.Int64) * _DAY_SLOTS + day_n)
        .unique()
        .sort("key")
        .select(user=pl.col("key") // _DAY_SLOTS, day=pl.col("key") % _DAY_SLOTS)
    )
    next_day = pl.when(pl.col("user").shift(-1) == pl.col("user")).then(pl.col("day").shift(-1))
    spans = active.select(
        "day",
        wau_end=pl.min_horizontal(pl.col("day") + WAU_DAYS, next_day),
        mau_end=pl.min_horizontal(pl.col("day") + MAU_DAYS, next_day),
    )
    starts = spans.group_by("day").agg(dau=pl.len().cast(pl.Int64))
    wau_ends = spans.group_by(day=pl.col("wau_end")).agg(wau_ends=pl.len().cast(pl.Int64))
    mau_ends = spans.group_by(day=pl.col("mau_end")).agg(mau_ends=pl.len().cast(pl.Int64))
    calendar = pl.LazyFrame({"day": pl.int_range(0, (last - start).days + 1, eager=True)})
    return (
        calendar.join(starts, on="day", how="left")
        .join(wau_ends, on="day", how="left")
        .join(mau_ends, on="day", how="left")
        .fill_null(0)
        .sort("day")
        .select(
            day=pl.lit(start) + pl.duration(days=pl.col("day")),
            dau=pl.col("dau"),
            wau=(pl.col("dau") - pl.col("wau_ends")).cum_sum(),
            mau=(pl.col("dau") - pl.col("mau_ends")).cum_sum(),
        )
        .filter(pl.col("day") >= first)
        .with_columns(
            stickiness=pl.when(pl.col("mau") > 0).then(pl.col("dau") / pl.col("mau")).otherwise(0.0)
        )
        .cast(GOLD_DAILY_ACTIVE_USERS.schema)
    )


def days_reading(days: Iterable[date]) -> set[date]:
    """Returns the days whose figures read any of `days`: each day and the 29 after it."""
    return {d + timedelta(days=k) for d in days for k in range(LOOKBACK_DAYS + 1)}


def daily_active_users_asset(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """Returns the Dagster asset that builds gold/daily_active_users for a run's range of days."""

    def build(settings: Settings, first: date, last: date) -> pl.LazyFrame:
        start = first - timedelta(days=LOOKBACK_DAYS)
        # One row per user and active day: the same answer as every silver event, far fewer rows.
        events = lake.scan_days(settings, SILVER_USER_ACTIVITY_DAILY, start, last).select(
            "user_id", event_date="day"
        )
        return daily_active_users(events, first, last)

    check = checks.RowCheck(
        checks.WINDOWS_NEST, "dau <= wau <= mau on every day.", checks.windows_out_of_order
    )
    window_days = window(-LOOKBACK_DAYS)
    deps = [dg.AssetDep(SILVER_USER_ACTIVITY_DAILY.asset_key, partition_mapping=window_days)]
    return day_table_asset(GOLD_DAILY_ACTIVE_USERS, partitions_def, deps, build, check)
