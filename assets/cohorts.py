"""Weekly signup cohorts (gold/cohort_retention): of each week's signups, who came back when.

A user's cohort is the ISO week (its Monday) of their first user_signup (`silver/users`).
They are active in week offset k (k = 0, 1, ...) when they have any silver event in the week
starting cohort_week + 7k days (activity before the signup week is ignored). One row per
cohort and every offset from 0 to the week of the last day with data, weeks without activity
included (active_users 0). retention_rate = active_users / cohort_size.

Unpartitioned: a late event of day D changes the row of every cohort for D's week, and a late
signup moves a user between cohorts, changing all their rows; rebuilding the whole table from
two small silver tables costs well under a second, so partitions would add runs, not save work.
"""

from __future__ import annotations

import polars as pl

from assets.day_range import whole_table_asset
from eventlake.catalog import GOLD_COHORT_RETENTION, SILVER_USER_ACTIVITY_DAILY, SILVER_USERS


def cohort_retention(users: pl.LazyFrame, activity: pl.LazyFrame) -> pl.LazyFrame:
    """One row per cohort week and week offset, sorted by both.

    Args:
        users: silver/users (user_id, cohort_week; null cohort = never signed up).
        activity: silver/user_activity_daily (day, user_id) of every day.
    """
    cohorts = users.filter(pl.col("cohort_week").is_not_null()).select("user_id", "cohort_week")
    sizes = cohorts.group_by("cohort_week").agg(cohort_size=pl.len())
    last_week = activity.select(week=pl.col("day").max().dt.truncate("1w"))
    offsets = (
        sizes.join(last_week, how="cross")
        .with_columns(
            week_offset=pl.int_ranges(
                0, (pl.col("week") - pl.col("cohort_week")).dt.total_days() // 7 + 1
            )
        )
        .explode("week_offset")
        .filter(pl.col("week_offset").is_not_null())
        .select("cohort_week", "cohort_size", "week_offset")
    )
    active = (
        activity.select("user_id", week=pl.col("day").dt.truncate("1w"))
        .unique()
        .join(cohorts, on="user_id")
        .with_columns(week_offset=(pl.col("week") - pl.col("cohort_week")).dt.total_days() // 7)
        .filter(pl.col("week_offset") >= 0)
        .group_by("cohort_week", "week_offset")
        .agg(active_users=pl.len())
    )
    return (
        offsets.join(active, on=["cohort_week", "week_offset"], how="left")
        .with_columns(pl.col("active_users").fill_null(0))
        .with_columns(retention_rate=pl.col("active_users") / pl.col("cohort_size"))
        .select(GOLD_COHORT_RETENTION.schema.names())
        .sort("cohort_week", "week_offset")
        .cast(GOLD_COHORT_RETENTION.schema)
    )


cohort_retention_table = whole_table_asset(
    GOLD_COHORT_RETENTION, cohort_retention, SILVER_USERS, SILVER_USER_ACTIVITY_DAILY
)
