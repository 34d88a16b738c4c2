"""The gold days a run did not rewrite although their figures read the silver days it rewrote.

A run covers one contiguous range of days, but some gold figures read other days too:
DAU/WAU/MAU of day D read silver D-29..D, and an order counts on the day of its earliest
event, wherever its later duplicates lie. After a run rewrites silver days S, these days
must be rewritten as well, once S is in place (so by a later run, not in the same one).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import dagster as dg
import polars as pl

from assets import active_users, revenue
from eventlake import lake
from eventlake.catalog import GOLD_DAILY_ACTIVE_USERS, GOLD_REVENUE_DAILY, SILVER_EVENTS, TableSpec
from eventlake.settings import Settings
from orchestration.partitions import day_ranges

FOLLOWUP_TABLES: tuple[TableSpec, ...] = (GOLD_DAILY_ACTIVE_USERS, GOLD_REVENUE_DAILY)
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


def affected_days(settings: Settings, silver_days: set[date]) -> dict[str, set[date]]:
    """Returns, per follow-up table name, the days whose figures read any of `silver_days`.

    One entry per table of FOLLOWUP_TABLES; a new gold table with cross-day reads adds one.
    """
    orders = lake.scan(settings, SILVER_EVENTS).filter(pl.col("event_type") == revenue.ORDER_PLACED)
    sharing = revenue.days_sharing_orders(orders, silver_days).collect()
    return {
        GOLD_DAILY_ACTIVE_USERS.name: active_users.days_reading(silver_days),
        GOLD_REVENUE_DAILY.name: set(sharing.get_column("event_date").to_list()),
    }


def plan_followups(
    materialized: dict[dg.AssetKey, set[date]],
    reading: dict[str, set[date]],
    first: date,
    last: date,
) -> dict[str, list[tuple[date, date]]]:
    """Returns, per follow-up table name, the day ranges to rewrite after a run.

    Args:
        materialized: the day partitions the run materialized, per asset.
        reading: per follow-up table name, the days reading the run's silver days.
        first: the first day partition.
        last: the last day partition now (later days are no partitions yet; the first run
            that covers one, the sensor's or the nightly close of yesterday, reads the whole log).

    Days the run itself materialized for a table are left out: the run wrote them after
    silver (its dependency), so they are up to date.
    """
    plan: dict[str, list[tuple[date, date]]] = {}
    for name, days in reading.items():
        done = materialized.get(dg.AssetKey(name.split("/")), set())
        wanted = {d for d in days - done if first <= d <= last}
        if wanted:
            plan[name] = day_ranges(wanted)
    return plan
