"""What must be rewritten after a run: the partitions outside it that read what it wrote.

A run rewrites some days of some assets. Three kinds of partitions outside it read them:

- fixed windows, read off the assets' partition mappings (`windows_of`): DAU/WAU/MAU of D read
  activity D-29..D, the funnel of D reads D and D+1, a session of D reads events D-1..D+1, so a
  rewritten day changes the windows that include it, transitively (`spread`);
- dependencies that move with the data (`affected_days`): an order counts on the day of its
  earliest event, wherever its later copies lie, so when the orders of days S change, the days
  sharing an order_id with S change too (revenue, revenue by product, product performance; the
  funnel of those days and the day before); and a late event can make S a user's first active
  day, so their next active day stops being "new" in the lifecycle (only the candidate days
  whose stored figures differ are kept);
- the unpartitioned tables built from every day of silver (`whole_followups`).

The follow-up sensor turns what the first two give into one run over the range of those days,
selecting the assets that need a day in it. Follow-up runs rewrite no asset that a window reads from (only
silver/events and its typed tables feed windows, and only `ingested_days` writes those), so
their own follow-ups are empty and the chain ends.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
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
    GOLD_REVENUE_HOURLY,
    SILVER_ORDERS,
    SILVER_USER_ACTIVITY_DAILY,
    TableSpec,
)
from eventlake.settings import Settings
from orchestration.jobs import asset_key

ORDER_TABLES: tuple[TableSpec, ...] = (
    GOLD_REVENUE_DAILY,
    GOLD_REVENUE_BY_PRODUCT,
    GOLD_PRODUCT_PERFORMANCE,
    GOLD_REVENUE_HOURLY,
)
_PAGE = 1000
Days = dict[dg.AssetKey, set[date]]


@dataclass(frozen=True)
class Window:
    """Day D of `child` reads days D+start .. D+end of `parent` (both day-partitioned)."""

    child: dg.AssetKey
    parent: dg.AssetKey
    start: int = 0
    end: int = 0


@dataclass(frozen=True)
class Lineage:
    """The dependencies between assets that follow-ups need, read off their definitions."""

    windows: tuple[Window, ...]
    whole: Mapping[dg.AssetKey, frozenset[dg.AssetKey]]  # unpartitioned asset -> its parents
    # the checks each asset evaluates as it writes (not the nightly reconciliation's)
    checks: Mapping[dg.AssetKey, frozenset[dg.AssetCheckKey]]

    @classmethod
    def of(cls, assets: Iterable[dg.AssetsDefinition]) -> Lineage:
        """Returns the lineage of `assets` (their specs' deps and partition mappings)."""
        assets = list(assets)
        partitioned = {s.key for a in assets if a.partitions_def is not None for s in a.specs}
        windows: list[Window] = []
        whole: dict[dg.AssetKey, frozenset[dg.AssetKey]] = {}
        checks: dict[dg.AssetKey, set[dg.AssetCheckKey]] = defaultdict(set)
        for definition in assets:
            for check in definition.check_specs:
                checks[check.asset_key].add(check.key)
            for spec in definition.specs:
                parents = [d for d in spec.deps if d.asset_key in partitioned]
                if definition.partitions_def is None:
                    whole[spec.key] = frozenset(d.asset_key for d in spec.deps)
                    continue
                for dep in parents:
                    mapping = dep.partition_mapping
                    if isinstance(mapping, dg.TimeWindowPartitionMapping):
                        start, end = mapping.start_offset, mapping.end_offset
                    elif mapping is None or isinstance(mapping, dg.IdentityPartitionMapping):
                        start = end = 0
                    else:
                        raise ValueError(f"{spec.key.to_user_string()}: unsupported mapping")
                    windows.append(Window(spec.key, dep.asset_key, start, end))
        return cls(tuple(windows), whole, {k: frozenset(v) for k, v in checks.items()})


def spread(lineage: Lineage, written: Days, first: date, last: date) -> Days:
    """Returns, per asset, the day partitions in [first, last] that read a written partition,
    directly or through other assets, and were not written themselves."""
    changed: set[tuple[dg.AssetKey, date]] = {(k, d) for k, days in written.items() for d in days}
    todo = list(changed)
    children: dict[dg.AssetKey, list[Window]] = defaultdict(list)
    for w in lineage.windows:
        children[w.parent].append(w)
    while todo:
        key, day = todo.pop()
        for w in children[key]:
            for offset in range(w.start, w.end + 1):  # D + offset = day
                item = (w.child, day - timedelta(days=offset))
                if first <= item[1] <= last and item not in changed:
                    changed.add(item)
                    todo.append(item)
    needed: Days = defaultdict(set)
    for key, day in changed:
        if day not in written.get(key, ()):
            needed[key].add(day)
    return dict(needed)


def whole_followups(lineage: Lineage, written: Days, whole_written: set[dg.AssetKey]) -> bool:
    """Returns whether an unpartitioned table reads a partition the run wrote and was not
    rebuilt by the run itself."""
    return any(
        parents & written.keys() and key not in whole_written
        for key, parents in lineage.whole.items()
    )


def materialized(instance: dg.DagsterInstance, run_id: str) -> tuple[Days, set[dg.AssetKey]]:
    """Returns what the run materialized: the day partitions per asset, and the unpartitioned
    assets (from its event log)."""
    days: Days = defaultdict(set)
    whole: set[dg.AssetKey] = set()
    cursor = None
    while True:
        page = instance.get_records_for_run(
            run_id, cursor=cursor, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION, limit=_PAGE
        )
        for record in page.records:
            event = record.event_log_entry.dagster_event
            if event is None or event.asset_key is None:
                continue
            if event.partition:
                days[event.asset_key].add(date.fromisoformat(event.partition))
            else:
                whole.add(event.asset_key)
        if not page.has_more:
            return dict(days), whole
        cursor = page.cursor


def affected_days(settings: Settings, order_days: set[date], activity_days: set[date]) -> Days:
    """Returns, per asset, the days that depend through the data on the rewritten days.

    Args:
        order_days: the silver/orders days a run rewrote.
        activity_days: the silver/user_activity_daily days a run rewrote.
    """
    reading: Days = {}
    if order_days:
        orders = lake.scan(settings, SILVER_ORDERS).select("order_id", "event_date")
        sharing = revenue.days_sharing_orders(orders, order_days).collect()
        shared = set(sharing.get_column("event_date").to_list())
        for spec in ORDER_TABLES:
            reading[asset_key(spec)] = shared
        reading[asset_key(GOLD_FUNNEL_DAILY)] = shared | {d - timedelta(days=1) for d in shared}
    if activity_days:
        activity = lake.scan(settings, SILVER_USER_ACTIVITY_DAILY).select("user_id", "day")
        later = lifecycle.days_changed_for_new_users(activity, activity_days).collect()
        candidates = set(later.get_column("day").to_list())
        reading[asset_key(GOLD_LIFECYCLE_DAILY)] = stale_lifecycle_days(
            settings, activity, candidates
        )
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


def needed_days(
    settings: Settings, lineage: Lineage, written: Days, first: date, last: date
) -> Days:
    """Returns, per asset, the day partitions in [first, last] outside the run that read what
    it wrote: through the data, through the windows, and through the windows over those."""
    data = affected_days(
        settings,
        written.get(asset_key(SILVER_ORDERS), set()),
        written.get(asset_key(SILVER_USER_ACTIVITY_DAILY), set()),
    )
    # Days the run wrote for an asset are up to date: it wrote them after their inputs.
    data = {
        k: {d for d in days if first <= d <= last} - written.get(k, set())
        for k, days in data.items()
    }
    changed = {k: written.get(k, set()) | data.get(k, set()) for k in written.keys() | data}
    needed = spread(lineage, changed, first, last)
    for key, days in data.items():
        needed.setdefault(key, set()).update(days)
    return {k: days for k, days in needed.items() if days}
