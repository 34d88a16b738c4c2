"""What the Overview reads of finished days: active users and revenue per day, from their gold
tables or, for a segment, their projections (dashboard/data/__init__.py). No Streamlit."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from dashboard.data import commerce, reads
from dashboard.data.scope import Scope
from dashboard.data.segments import restrict, users_of
from eventlake.catalog import (
    GOLD_DAILY_ACTIVE_USERS,
    GOLD_REVENUE_DAILY,
    SILVER_ORDERS,
    SILVER_USER_ACTIVITY_DAILY,
)
from eventlake.settings import Settings


def active_users(settings: Settings, scope: Scope) -> pl.DataFrame:
    """Returns one row per day of the scope's days of gold/daily_active_users, oldest first.

    Columns: day, dau, wau, mau, stickiness. Days the read model has no row for are absent.
    For a segment of users, the same projection runs over their silver/user_activity_daily
    rows (one row per day of the range, as gold writes them).
    """
    spec = GOLD_DAILY_ACTIVE_USERS
    first, last, as_of = scope.first, scope.last, scope.as_of
    users = users_of(settings, scope.segment, as_of)
    if users is None:
        frame = reads.scan_days(settings, spec, first, last, as_of).select(spec.schema.names())
        return reads.collect(spec, frame.sort("day"))
    from assets.active_users import (  # deferred: see the package docstring
        LOOKBACK_DAYS,
        daily_active_users,
    )

    start = first - timedelta(days=LOOKBACK_DAYS)
    activity = reads.scan_days(settings, SILVER_USER_ACTIVITY_DAILY, start, last, as_of)
    events = restrict(activity, users).select("user_id", event_date="day")
    return reads.collect(SILVER_USER_ACTIVITY_DAILY, daily_active_users(events, first, last))


def revenue(settings: Settings, scope: Scope) -> pl.DataFrame:
    """Returns one row per day and currency of the scope's days of gold/revenue_daily.

    Columns: day, currency, orders, revenue, avg_order_value; sorted by day, then currency.
    Amounts stay in their own currency (no FX conversion). The scope's currencies are kept
    (empty: all); for a segment, the orders counted for everyone are kept when placed by one
    of its users, and the same projection sums them.
    """
    spec = GOLD_REVENUE_DAILY
    first, last, as_of, currencies = scope.first, scope.last, scope.as_of, scope.currencies
    users = users_of(settings, scope.segment, as_of)
    if users is None:
        frame = reads.scan_days(settings, spec, first, last, as_of).select(spec.schema.names())
    else:
        from assets.revenue import revenue_daily  # deferred: see the package docstring

        orders = restrict(commerce.counted(settings, scope).lazy(), users)
        frame, spec = revenue_daily(orders, first, last), SILVER_ORDERS
    if currencies:
        frame = frame.filter(pl.col("currency").is_in(list(currencies)))
    return reads.collect(spec, frame.sort("day", "currency"))
