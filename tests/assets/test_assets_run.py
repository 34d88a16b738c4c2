"""Every asset in real Dagster range runs on a temporary lake; the blocking silver checks."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
from bronze_log_rows import append_bronze, event, login, order
from polars.testing import assert_frame_equal

from assets.day_range import LAKE_RESOURCE_KEY
from eventlake import lake
from eventlake.catalog import (
    GOLD_DAILY_ACTIVE_USERS,
    GOLD_REVENUE_DAILY,
    SILVER_EVENTS,
    SILVER_ORDERS,
)
from eventlake.settings import Settings
from orchestration.jobs import DAY_TABLES, SOURCES, day_assets, whole_assets
from orchestration.partitions import range_tags
from orchestration.resources import LakeResource

D1, D2, D3 = date(2024, 2, 1), date(2024, 2, 2), date(2024, 2, 3)
PARTITIONS = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_offset=1)


def at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), UTC)


def run(settings: Settings, first: date, last: date, home: Path) -> dg.ExecuteInProcessResult:
    assets = [*SOURCES, *day_assets(PARTITIONS), *whole_assets()]
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        return dg.materialize(
            assets,
            instance=instance,
            resources={LAKE_RESOURCE_KEY: LakeResource.from_settings(settings)},
            tags=range_tags(first, last),
            selection=[dg.AssetKey(t.asset_key) for t in DAY_TABLES],
            raise_on_error=False,
        )


def test_range_run_writes_hand_computed_tables(settings: Settings, tmp_path: Path) -> None:
    t0 = datetime(2024, 2, 4, tzinfo=UTC)
    append_bronze(
        settings,
        [
            login("a", "u1", at(D1, 8), ingested_at=t0),
            login("b", "u2", at(D1, 9), ingested_at=t0),
            order("c", "u1", "o1", 10.0, "EUR", at(D1, 10), unit_prices=False, ingested_at=t0),
            event("d", "page_view", at(D2, 8), {"user_id": "u1", "url": "/"}, ingested_at=t0),
            order("e", "u2", "o2", 20.0, "USD", at(D2, 9), ingested_at=t0),
            event("x", "coupon_applied", at(D3, 8), {"user_id": "u7"}, ingested_at=t0),
        ],
    )
    append_bronze(  # a second commit: a copy of "c" on D2 and a repeated order_id on D3
        settings,
        [
            order("c", "u1", "o1", 10.0, "EUR", at(D2, 7), ingested_at=t0 + timedelta(hours=1)),
            order("f", "u1", "o1", 10.0, "EUR", at(D3, 9), ingested_at=t0 + timedelta(hours=1)),
        ],
    )

    result = run(settings, D1, D3, tmp_path / "home")

    assert result.success
    materialized = {(e.asset_key.to_user_string(), e.partition) for e in
                    result.get_asset_materialization_events()}  # fmt: skip
    days = [d.isoformat() for d in (D1, D2, D3)]
    assert materialized == {(t.name, d) for t in DAY_TABLES for d in days}
    checks = {(c.asset_key.to_user_string(), c.check_name): c.passed
              for c in result.get_asset_check_evaluations()}  # fmt: skip
    assert checks == {("silver/events", "unique_event_id"): True,
                      ("silver/events", "count_matches_bronze"): True,
                      ("gold/daily_active_users", "dau_le_wau_le_mau"): True,
                      ("gold/revenue_daily", "no_negative_revenue"): True,
                      ("gold/revenue_by_product", "no_negative_revenue"): True,
                      ("gold/product_performance", "no_negative_revenue"): True,
                      ("gold/funnel_daily", "funnel_steps_never_increase"): True}  # fmt: skip
    silver = lake.scan(settings, SILVER_EVENTS).sort("event_date", "event_id").collect()
    assert silver.select("event_id", "event_date").rows() == [
        ("a", D1), ("b", D1), ("c", D1), ("d", D2), ("e", D2), ("f", D3),
    ]  # fmt: skip
    assert lake.scan(settings, SILVER_ORDERS).collect().height == 3
    revenue = lake.scan(settings, GOLD_REVENUE_DAILY).sort("day", "currency").collect()
    assert_frame_equal(
        revenue,
        pl.DataFrame(
            [(D1, "EUR", 1, 10.0, 10.0), (D2, "USD", 1, 20.0, 20.0)],
            schema=GOLD_REVENUE_DAILY.schema,
            orient="row",
        ),
    )
    dau = lake.scan(settings, GOLD_DAILY_ACTIVE_USERS).sort("day").collect()
    assert_frame_equal(
        dau,
        pl.DataFrame(
            [(D1, 2, 2, 2, 1.0), (D2, 2, 2, 2, 1.0), (D3, 1, 2, 2, 0.5)],
            schema=GOLD_DAILY_ACTIVE_USERS.schema,
            orient="row",
        ),
    )


def test_rerunning_a_day_replaces_it_and_clears_emptied_days(
    settings: Settings, tmp_path: Path
) -> None:
    append_bronze(settings, [login("a", "u1", at(D1, 8)), order("b", "u1", "o1", 5.0, "EUR",
                                                                 at(D2, 8))])  # fmt: skip
    assert run(settings, D1, D2, tmp_path / "h1").success
    assert run(settings, D1, D2, tmp_path / "h2").success  # idempotent: nothing doubles
    assert lake.scan(settings, SILVER_EVENTS).collect().height == 2
    assert lake.scan(settings, GOLD_REVENUE_DAILY).collect().height == 1

    # The D2 order turns out to be a duplicate of an earlier order on D1: D2 loses it.
    append_bronze(settings, [order("c", "u1", "o1", 5.0, "EUR", at(D1, 7))])
    assert run(settings, D1, D2, tmp_path / "h3").success
    revenue = lake.scan(settings, GOLD_REVENUE_DAILY).collect()
    assert revenue.select("day", "orders").rows() == [(D1, 1)]


def test_a_failed_blocking_silver_check_stops_everything_downstream(
    settings: Settings, tmp_path: Path
) -> None:
    append_bronze(settings, [login("a", "u1", at(D1, 8)), login("b", "u2", at(D2, 8))])
    assert run(settings, D1, D2, tmp_path / "h1").success
    # Corrupt silver outside the next run's days: event "b" (D2) also appears on D3.
    stray = lake.scan(settings, SILVER_EVENTS).filter(pl.col("event_id") == "b").collect()
    lake.replace_days(settings, SILVER_EVENTS, stray.with_columns(event_date=pl.lit(D3)), D3, D3)

    result = run(settings, D2, D2, tmp_path / "h2")

    assert not result.success
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks == {"unique_event_id": False, "count_matches_bronze": False}
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    # nothing built on the bad silver (the event-id index reads bronze only)
    assert materialized == {"silver/events", "silver/event_index"}
