"""silver/events built incrementally: after every bronze commit, equal to a rebuild from the log.

Real Delta tables: the product's `build_incrementally` appends what bronze gained since the
days were last built, and must give up (None) whenever only a rebuild can tell.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
from bronze_log_rows import append_bronze, event, login
from polars.testing import assert_frame_equal

from assets.day_range import LAKE_RESOURCE_KEY
from assets.silver import INCREMENTAL_TAG, build, build_incrementally, built_from, silver_events
from eventlake import lake
from eventlake.catalog import BRONZE_EVENTS, SILVER_EVENTS
from eventlake.settings import Settings
from orchestration.jobs import SOURCES, day_assets
from orchestration.partitions import range_tags
from orchestration.resources import LakeResource

DAYS = [date(2024, 3, d) for d in range(1, 5)]
T0 = datetime(2024, 3, 10, tzinfo=UTC)


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def bronze_now(settings: Settings) -> tuple:
    table = lake.open_table(settings, BRONZE_EVENTS)
    assert table is not None
    return table, lake.scan(settings, BRONZE_EVENTS, version=table.version())


def by_definition(settings: Settings, first: date, last: date) -> pl.DataFrame:
    bronze = lake.scan(settings, BRONZE_EVENTS)
    days = bronze.filter(pl.col("event_date").is_between(first, last))
    return silver_events(days, bronze).collect()


def silver_days(settings: Settings, first: date, last: date) -> pl.DataFrame:
    return (
        lake.scan_days(settings, SILVER_EVENTS, first, last)
        .sort("event_date", "event_time", "event_id")
        .collect()
    )


def test_appends_follow_the_first_copy_rule_and_give_up_when_a_held_copy_is_displaced(
    settings: Settings,
) -> None:
    d = DAYS[1]
    append_bronze(settings, [login("a", "u1", at(d, 8), ingested_at=T0),
                             login("b", "u2", at(DAYS[0], 9), ingested_at=T0)])  # fmt: skip
    table, bronze = bronze_now(settings)
    assert build_incrementally(settings, table, bronze, d, d) is None  # never built: no base
    build(settings, bronze, d, d, table.version())
    assert built_from(settings, d, d) == table.version()

    later = T0 + timedelta(minutes=5)
    append_bronze(settings, [
        login("c", "u3", at(d, 10), ingested_at=later),  # new
        login("a", "u1", at(d, 11), ingested_at=later),  # a later copy of a held event: loses
        login("b", "u2", at(d, 12), ingested_at=later),  # a later copy of another day's event
        event("z", "not_registered", at(d, 13), {"user_id": "u9"}, ingested_at=later),
        login("e", "u5", at(DAYS[2], 9), ingested_at=later),  # another day
    ])  # fmt: skip
    table, bronze = bronze_now(settings)
    assert build_incrementally(settings, table, bronze, d, d) == 1
    assert silver_days(settings, d, d).get_column("event_id").to_list() == ["a", "c"]
    assert_frame_equal(silver_days(settings, d, d), by_definition(settings, d, d))
    assert built_from(settings, d, d) == table.version()

    # A copy of "c" ingested before the held one (another ingester's slower commit): silver
    # holds the loser now, so only a rebuild is right.
    append_bronze(settings, [login("c", "u3", at(d, 6), ingested_at=later - timedelta(1))])
    table, bronze = bronze_now(settings)
    assert build_incrementally(settings, table, bronze, d, d) is None


def test_a_rewritten_bronze_or_days_built_from_different_versions_mean_a_rebuild(
    settings: Settings,
) -> None:
    first, last = DAYS[0], DAYS[1]
    append_bronze(settings, [login("a", "u1", at(first, 8), ingested_at=T0)])
    table, bronze = bronze_now(settings)
    build(settings, bronze, first, first, table.version())
    append_bronze(settings, [login("b", "u1", at(last, 8), ingested_at=T0)])
    table, bronze = bronze_now(settings)
    build(settings, bronze, last, last, table.version())
    assert built_from(settings, first, last) is None  # two days, two versions
    assert build_incrementally(settings, table, bronze, first, last) is None

    append_bronze(settings, [login("c", "u1", at(last, 9), ingested_at=T0)])
    bronze_now(settings)[0].optimize.compact()  # rewrites the day's files into one
    table, bronze = bronze_now(settings)
    assert build_incrementally(settings, table, bronze, last, last) is None


def test_random_commits_built_incrementally_equal_a_rebuild_after_every_commit(
    settings: Settings,
) -> None:
    rng = random.Random(11)
    first, last = DAYS[1], DAYS[2]
    ids = [f"e{n}" for n in range(120)]
    appended = rebuilt = 0
    for commit in range(12):
        rows = []
        for _ in range(rng.randrange(5, 30)):
            # Copies of earlier ids come back on random days, mostly ingested later.
            ingested = T0 + timedelta(seconds=commit * 60 + rng.randrange(-90, 60))
            rows.append(login(rng.choice(ids), f"u{rng.randrange(9)}",
                              at(rng.choice(DAYS), rng.randrange(24)), ingested_at=ingested))  # fmt: skip
        append_bronze(settings, rows)
        table, bronze = bronze_now(settings)
        if build_incrementally(settings, table, bronze, first, last) is None:
            build(settings, bronze, first, last, table.version())
            rebuilt += 1
        else:
            appended += 1
        assert_frame_equal(silver_days(settings, first, last), by_definition(settings, first, last))
    assert appended >= 3 and rebuilt >= 2  # both paths were exercised


def test_the_silver_asset_appends_in_a_dagster_run(settings: Settings, tmp_path: Path) -> None:
    d = DAYS[3]
    partitions = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_offset=1)
    assets = [*SOURCES, *day_assets(partitions)]
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:

        def run(**tags: str) -> dg.ExecuteInProcessResult:
            return dg.materialize(
                assets,
                instance=instance,
                resources={LAKE_RESOURCE_KEY: LakeResource.from_settings(settings)},
                tags={**range_tags(d, d), **tags},
                selection=[dg.AssetKey(SILVER_EVENTS.asset_key)],
            )

        def last_write() -> str:
            silver = lake.open_table(settings, SILVER_EVENTS)
            assert silver is not None
            return silver.history(1)[0]["operationParameters"]["mode"]

        append_bronze(settings, [login("a", "u1", at(d, 8), ingested_at=T0)])
        assert run(**{INCREMENTAL_TAG: "1"}).success
        assert last_write() == "Overwrite"  # nothing to build on yet
        append_bronze(settings, [login("b", "u2", at(d, 9), ingested_at=T0)])
        result = run(**{INCREMENTAL_TAG: "1"})
        assert result.success
        assert last_write() == "Append"
        assert all(c.passed for c in result.get_asset_check_evaluations())
        assert silver_days(settings, d, d).get_column("event_id").to_list() == ["a", "b"]
        append_bronze(settings, [login("c", "u3", at(d, 10), ingested_at=T0)])
        assert run().success  # a backfill or a replay: rebuilt from the log
        assert last_write() == "Overwrite"
        assert silver_days(settings, d, d).get_column("event_id").to_list() == ["a", "b", "c"]
