"""What the Retention, Customers, Lifecycle and Sessions pages read: plain functions of
(settings, scope), from their gold tables or, for a segment, their projections
(dashboard/data/__init__.py). No Streamlit.
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from dashboard.data import reads
from dashboard.data.scope import Scope
from dashboard.data.segments import restrict, users_of
from eventlake import lake
from eventlake.catalog import (
    GOLD_COHORT_RETENTION,
    GOLD_CUSTOMER_RFM,
    GOLD_LIFECYCLE_DAILY,
    GOLD_SESSIONS_DAILY,
    SILVER_SESSIONS,
    SILVER_USER_ACTIVITY_DAILY,
    SILVER_USERS,
)
from eventlake.settings import Settings

# Session length buckets of the Sessions page, in seconds: [lower, upper).
DURATION_BUCKETS: tuple[tuple[str, float], ...] = (
    ("0 s (one event)", 1.0),
    ("1 s - 1 min", 60.0),
    ("1 - 5 min", 300.0),
    ("5 - 15 min", 900.0),
    ("15 - 30 min", 1800.0),
    ("30 min - 1 h", 3600.0),
    ("1 h or more", float("inf")),
)


def cohorts(settings: Settings, scope: Scope) -> pl.DataFrame:
    """Returns gold/cohort_retention rows of the cohorts whose signup week meets the scope's days.

    A cohort week starts on a Monday; a week that overlaps [first, last] is shown. Sorted by
    cohort week and week offset.
    """
    spec = GOLD_COHORT_RETENTION
    if scope.segment.is_everyone:
        frame = lake.scan(settings, spec, version=scope.as_of)
    else:
        from assets.cohorts import cohort_retention  # deferred: see the package docstring

        members = users_of(settings, scope.segment, scope.as_of)
        users = restrict(lake.scan(settings, SILVER_USERS, version=scope.as_of), members)
        activity = lake.scan(settings, SILVER_USER_ACTIVITY_DAILY, version=scope.as_of)
        frame = cohort_retention(users, restrict(activity, members).select("day", "user_id"))
    week = pl.col("cohort_week")
    frame = frame.filter(week.is_between(scope.first - timedelta(days=6), scope.last))
    return reads.collect(spec, frame.select(spec.schema.names()).sort("cohort_week", "week_offset"))


def customers(settings: Settings, scope: Scope) -> pl.DataFrame:
    """Returns gold/customer_rfm (one row per customer, as of its last day) for the segment.

    Scores and segments are those computed over every customer: a filter chooses which
    customers are shown, it does not re-score them. The day range does not apply.
    """
    spec = GOLD_CUSTOMER_RFM
    frame = restrict(
        lake.scan(settings, spec, version=scope.as_of),
        users_of(settings, scope.segment, scope.as_of),
    )
    return reads.collect(spec, frame.select(spec.schema.names()))


def lifecycle(settings: Settings, scope: Scope) -> pl.DataFrame:
    """Returns gold/lifecycle_daily rows of the scope's days (active, new, returning,
    resurrecting, dormant), oldest first."""
    spec = GOLD_LIFECYCLE_DAILY
    users = users_of(settings, scope.segment, scope.as_of)
    if users is None:
        frame = reads.scan_days(settings, spec, scope.first, scope.last, scope.as_of)
    else:
        from assets.lifecycle import lifecycle_daily  # deferred: see the package docstring

        # Whether a user is new on D depends on every earlier day: read them all.
        activity = lake.scan(settings, SILVER_USER_ACTIVITY_DAILY, version=scope.as_of).filter(
            pl.col("day") <= scope.last
        )
        frame = lifecycle_daily(
            restrict(activity, users).select("day", "user_id"), scope.first, scope.last
        )
    return reads.collect(spec, frame.select(spec.schema.names()).sort("day"))


def _sessions(settings: Settings, scope: Scope) -> pl.LazyFrame:
    """The silver/sessions rows of the scope's days and users."""
    frame = reads.scan_days(settings, SILVER_SESSIONS, scope.first, scope.last, scope.as_of)
    return restrict(frame, users_of(settings, scope.segment, scope.as_of))


def sessions(settings: Settings, scope: Scope) -> pl.DataFrame:
    """Returns gold/sessions_daily rows of the scope's days (sessions, avg, p50 and p90
    duration in seconds), oldest first."""
    spec = GOLD_SESSIONS_DAILY
    if scope.segment.is_everyone:
        frame = reads.scan_days(settings, spec, scope.first, scope.last, scope.as_of)
    else:
        from assets.sessions import sessions_daily  # deferred: see the package docstring

        frame = sessions_daily(_sessions(settings, scope), scope.first, scope.last)
    return reads.collect(spec, frame.select(spec.schema.names()).sort("day"))


def session_lengths(settings: Settings, scope: Scope) -> pl.DataFrame:
    """Returns one row per duration bucket: `bucket` (label), `sessions`, `share` of all
    sessions started in the scope's days (silver/sessions), in bucket order."""
    bounds = [upper for _, upper in DURATION_BUCKETS]
    labels = [label for label, _ in DURATION_BUCKETS]
    duration = pl.col("duration_s")
    bucket = pl.lit(len(bounds) - 1)
    for i in reversed(range(len(bounds) - 1)):
        bucket = pl.when(duration < bounds[i]).then(pl.lit(i)).otherwise(bucket)
    counts = _sessions(settings, scope).group_by(n=bucket).agg(sessions=pl.len())
    found = reads.collect(SILVER_SESSIONS, counts)
    order = pl.DataFrame(
        {"n": range(len(labels)), "bucket": labels}, schema_overrides={"n": pl.Int32}
    )
    total = int(found["sessions"].sum()) if found.height else 0
    return (
        order.join(found.cast({"n": pl.Int32}), on="n", how="left")
        .with_columns(pl.col("sessions").fill_null(0).cast(pl.Int64))
        .with_columns(share=pl.col("sessions") / total if total else pl.lit(0.0))
        .sort("n")
        .select("bucket", "sessions", "share")
    )
