"""User lifecycle (gold/lifecycle_daily): who is new, returning, resurrecting or dormant.

Per day D, among users active on D (any silver event with their id, as for DAU):
new = D is their first active day ever; returning = also active on D-1; resurrecting = not
active on D-1 but active on some day before. new + returning + resurrecting = active (= DAU).
dormant = active on D-1 but not on D. So day D reads activity of D and D-1, and, for users not
active on D-1, whether they were ever active before: the asset reads every earlier day of
silver/user_activity_daily (one small row per user and day).
"""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg
import polars as pl

from assets.day_range import day_table_asset, window
from eventlake import lake
from eventlake.catalog import GOLD_LIFECYCLE_DAILY, SILVER_USER_ACTIVITY_DAILY
from eventlake.settings import Settings


def lifecycle_daily(activity: pl.LazyFrame, first: date, last: date) -> pl.LazyFrame:
    """One row per day in [first, last]: active, new, returning, resurrecting, dormant.

    Args:
        activity: silver/user_activity_daily rows (day, user_id) of every day up to `last`
            (days before `first` decide who is new); rows after `last` are ignored.
    """
    days = (
        activity.filter(pl.col("day") <= last, pl.col("user_id").is_not_null())
        .select("user_id", "day")
        .unique()
        .sort("user_id", "day")
        .with_columns(previous=pl.col("day").shift(1).over("user_id"))
    )
    active = (
        days.filter(pl.col("day").is_between(first, last))
        .group_by("day")
        .agg(
            active=pl.len(),
            new=pl.col("previous").is_null().sum(),
            returning=(pl.col("previous") == pl.col("day") - timedelta(days=1)).sum(),
        )
        .with_columns(resurrecting=pl.col("active") - pl.col("new") - pl.col("returning"))
    )
    yesterday = (
        days.filter(pl.col("day").is_between(first - timedelta(days=1), last - timedelta(days=1)))
        .group_by(day=pl.col("day") + timedelta(days=1))
        .agg(active_before=pl.len())
    )
    calendar = pl.LazyFrame({"day": pl.date_range(first, last, eager=True)})
    return (
        calendar.join(active, on="day", how="left")
        .join(yesterday, on="day", how="left")
        .fill_null(0)
        .with_columns(dormant=pl.col("active_before") - pl.col("returning"))
        .select(GOLD_LIFECYCLE_DAILY.schema.names())
        .sort("day")
        .cast(GOLD_LIFECYCLE_DAILY.schema)
    )


def lifecycle_daily_asset(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """Returns the asset building gold/lifecycle_daily: day D reads activity of D-1 and D."""

    def build(settings: Settings, first: date, last: date) -> pl.LazyFrame:
        activity = lake.scan(settings, SILVER_USER_ACTIVITY_DAILY).select("day", "user_id")
        return lifecycle_daily(activity, first, last)

    deps = [dg.AssetDep(SILVER_USER_ACTIVITY_DAILY.asset_key, partition_mapping=window(-1))]
    return day_table_asset(GOLD_LIFECYCLE_DAILY, partitions_def, deps, build)


def days_changed_for_new_users(activity: pl.LazyFrame, days: set[date]) -> pl.LazyFrame:
    """One row (`day`) per day outside `days` and after them whose `new` count may have changed.

    A late event can make D a user's first active day; their next active day N, if N > D + 1,
    then stops being "new" (it becomes resurrecting). The window mapping covers D and D+1; N
    is found here, for users whose first active day lies in `days`.
    """
    wanted = pl.Series(sorted(days), dtype=pl.Date).implode()
    firsts = (
        activity.group_by("user_id")
        .agg(first=pl.col("day").min())
        .filter(pl.col("first").is_in(wanted))
    )
    return (
        activity.join(firsts, on="user_id")
        .filter(pl.col("day") > pl.col("first") + timedelta(days=1))
        .group_by("user_id")
        .agg(day=pl.col("day").min())
        .select("day")
        .unique()
        .sort("day")
    )
