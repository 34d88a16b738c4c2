"""The users dimension (silver/users): one row per user, folded from their events.

A user is anyone whose id appears on a silver event. Their first and last active day and the
number of active days come from silver/user_activity_daily; their signup attributes
(`signed_up_at`, source, plan, country) from their FIRST user_signup (earliest event time,
ties: smallest event_id) — later signups are counted in `signups` but change nothing.
`cohort_week` is the Monday of the ISO week of that first signup. Unpartitioned: rebuilt whole
(from two small tables) whenever any day of them changes.
"""

from __future__ import annotations

import polars as pl

from assets.day_range import whole_table_asset
from eventlake.catalog import SILVER_USER_ACTIVITY_DAILY, SILVER_USER_SIGNUPS, SILVER_USERS


def users(activity: pl.LazyFrame, signups: pl.LazyFrame) -> pl.LazyFrame:
    """One row per user of `activity` or `signups`, sorted by user_id.

    Args:
        activity: silver/user_activity_daily rows (day, user_id) of every day.
        signups: silver/user_signups rows of every day.
    """
    active = activity.group_by("user_id").agg(
        first_active_day=pl.col("day").min(),
        last_active_day=pl.col("day").max(),
        active_days=pl.col("day").n_unique(),
    )
    signed = (
        signups.filter(pl.col("user_id").is_not_null())
        .sort("event_time", "event_id")
        .group_by("user_id", maintain_order=True)
        .agg(
            pl.col("event_time", "signup_source", "plan", "country").first(),
            signups=pl.len(),
        )
        .rename({"event_time": "signed_up_at"})
    )
    return (
        active.join(signed, on="user_id", how="full", coalesce=True)
        .with_columns(
            cohort_week=pl.col("signed_up_at").dt.date().dt.truncate("1w"),
            signups=pl.col("signups").fill_null(0),
        )
        .select(SILVER_USERS.schema.names())
        .sort("user_id")
        .cast(SILVER_USERS.schema)
    )


silver_users = whole_table_asset(
    SILVER_USERS, users, SILVER_USER_ACTIVITY_DAILY, SILVER_USER_SIGNUPS
)
