"""The gold days a run did not rewrite although they depend on the silver days it rewrote.

Partition mappings (and automation) cover fixed windows: DAU/WAU/MAU of D read D-29..D, the
funnel of D reads D and D+1, and so on. Two dependencies move with the data instead:

- an order counts on the day of its earliest event, wherever its later copies lie: when the
  orders of days S change, the days sharing an order_id with S may change too (revenue,
  revenue by product, product performance; the funnel of those days and the day before);
- a late event can make S a user's first active day: their next active day, if later than
  S+1, stops being "new" in the lifecycle (those candidate days are recomputed and only the
  ones whose stored figures differ are requested).

After a run wrote silver/orders or silver/user_activity_daily days, these days are rewritten by
a later run (once the run's writes are in place).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

import dagster as dg
import polars as pl

from assets import lifecycle, revenue
from eventlake import lake
from eventlake.catalog import (
    GOLD_FUNNEL_DAILY,
    GOLD_LIFECYCLE_DAILY,
    GOLD_PRODUCT_PERFORMANCE,
    GOLD_REVENUE_BY_PRODUCT,
    GOLD_REVENUE_DAILY,
    SILVER_ORDERS,
    SILVER_USER_ACTIVITY_DAILY,
    TableSpec,
)
from eventlake.settings import Settings
from orchestration.partitions import day_ranges

ORDER_TABLES: tuple[TableSpec, ...] = (
    GOLD_REVENUE_DAILY,
    GOLD_REVENUE_BY_PRODUCT,
    GOLD_PRODUCT_PERFORMANCE,
)
FOLLOWUP_TABLES: tuple[TableSpec, ...] = (*ORDER_TABLES, GOLD_FUNNEL_DAILY, GOLD_LIFECYCLE_DAILY)
_PAGE = 1000


def materialized_days(instance: dg.DagsterInstance, run_id: str) -> dict[dg.AssetKey, set[date]]:
    """Returns, per asset, the day partitions the run materialized (from its event log)."""
    days: dict[dg.AssetKey, set[date]] = defaultdict(set)
    cursor = None
    while True:
        page = instance.get_records_for_run(
            run_id, cursor=cursor, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION, limit=_PAGE
        )
        for record in page.records:
            event = record.event_log_entry.dagster_event
            if event is not None and event.asset_key is not None and event.partition:
                days[event.asset_key].add(date.fromisoformat(event.partition))
        if not page.has_more:
            return dict(days)
        cursor = page.cursor


def affected_days(
    settings: Settings, order_days: set[date], activity_days: set[date]
) -> dict[str, set[date]]:
    """Returns, per follow-up table name, the days that depend on the rewritten days.

    Args:
        order_days: the silver/orders days a run rewrote.
        activity_days: the silver/user_activity_daily days a run rewrote.
    """
    reading: dict[str, set[date]] = {t.name: set() for t in FOLLOWUP_TABLES}
    if order_days:
        orders = lake.scan(settings, SILVER_ORDERS).select("order_id", "event_date")
        sharing = revenue.days_sharing_orders(orders, order_days).collect()
        shared = set(sharing.get_column("event_date").to_list())
        for spec in ORDER_TABLES:
            reading[spec.name] = shared
        reading[GOLD_FUNNEL_DAILY.name] = shared | {d - timedelta(days=1) for d in shared}
    if activity_days:
        activity = lake.scan(settings, SILVER_USER_ACTIVITY_DAILY).select("user_id", "day")
        later = lifecycle.days_changed_for_new_users(activity, activity_days).collect()
        candidates = set(later.get_column("day").to_list())
        reading[GOLD_LIFECYCLE_DAILY.name] = stale_lifecycle_days(settings, activity, candidates)
    return reading


def stale_lifecycle_days(
    settings: Settings, activity: pl.LazyFrame, candidates: set[date]
) -> set[date]:
    """Returns the candidate days whose stored lifecycle figures differ from a fresh computation.

    A candidate is the next active day of a user whose first active day was rewritten; it
    changes only if that first day is new (the user was "new" on the candidate day before).
    Recomputing the candidates (one small table) and comparing with what is stored keeps the
    follow-ups to exactly the days that change.
    """
    if not candidates:
        return set()
    first, last = min(candidates), max(candidates)
    wanted = pl.Series(sorted(candidates), dtype=pl.Date).implode()
    fresh = lifecycle.lifecycle_daily(activity, first, last).filter(pl.col("day").is_in(wanted))
    stored = lake.scan_days(settings, GOLD_LIFECYCLE_DAILY, first, last)
    differ = fresh.join(stored, on=GOLD_LIFECYCLE_DAILY.schema.names(), how="anti")
    return set(differ.select("day").collect().get_column("day").to_list())


def plan_followups(
    materialized: dict[dg.AssetKey, set[date]],
    reading: dict[str, set[date]],
    first: date,
    last: date,
) -> dict[str, list[tuple[date, date]]]:
    """Returns, per follow-up table name, the day ranges to rewrite after a run.

    Args:
        materialized: the day partitions the run materialized, per asset.
        reading: per follow-up table name, the days depending on the run's silver days.
        first: the first day partition.
        last: the last day partition now.

    Days the run itself materialized for a table are left out: the run wrote them after
    their inputs, so they are up to date.
    """
    plan: dict[str, list[tuple[date, date]]] = {}
    for name, days in reading.items():
        done = materialized.get(dg.AssetKey(name.split("/")), set())
        wanted = {d for d in days - done if first <= d <= last}
        if wanted:
            plan[name] = day_ranges(wanted)
    return plan
