"""A range run equals day-by-day runs: every day-partitioned table, on generated traffic.

Range runs build silver in chunks of days and write typed silver and sessions once for the
whole range (docs/architecture.md); one day at a time must give the same tables. The data is
the benchmark's generator (bench/events.py): duplicates across days, late copies, v1 and v2
orders, re-sent orders, sessions with and without ids.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from assets.day_range import LAKE_RESOURCE_KEY, days_between
from assets.typed_silver import TYPED_TABLES
from bench.events import BenchShape, generate
from eventlake import lake
from eventlake.catalog import BRONZE_EVENTS, SILVER_EVENTS, TableSpec
from eventlake.settings import Settings
from orchestration.jobs import DAY_TABLES, SOURCES, asset_key, day_assets, whole_assets
from orchestration.partitions import range_tags
from orchestration.resources import LakeResource

PARTITIONS = dg.DailyPartitionsDefinition(start_date="2026-01-01")
SILVER_DAY_TABLES = (SILVER_EVENTS, *TYPED_TABLES)


def run(
    settings: Settings,
    first: date,
    last: date,
    tables: tuple[TableSpec, ...],
    instance: dg.DagsterInstance,
) -> None:
    result = dg.materialize(
        [*SOURCES, *day_assets(PARTITIONS), *whole_assets()],
        instance=instance,
        resources={LAKE_RESOURCE_KEY: LakeResource.from_settings(settings)},
        tags=range_tags(first, last),
        selection=dg.AssetSelection.assets(*(asset_key(t) for t in tables)),
    )
    assert result.success


def stored(settings: Settings, spec: TableSpec) -> pl.DataFrame:
    frame = lake.scan(settings, spec).collect()
    return frame.sort(frame.columns, nulls_last=True)


@pytest.mark.parametrize("seed", [3])
def test_a_range_run_equals_day_by_day_runs(tmp_path: Path, seed: int) -> None:
    shape = BenchShape(events=4000, days=5, users=150, first_day=date(2026, 1, 5), seed=seed)
    bronze = generate(shape)
    days = days_between(bronze["event_date"].min(), bronze["event_date"].max())  # type: ignore[arg-type]
    ranged = Settings.from_env(env={}, lake_root=str(tmp_path / "range"))
    daily = Settings.from_env(env={}, lake_root=str(tmp_path / "daily"))
    for settings in (ranged, daily):
        lake.append(settings, BRONZE_EVENTS, bronze)
    later = tuple(t for t in DAY_TABLES if t not in SILVER_DAY_TABLES)
    (tmp_path / "dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster")) as instance:
        run(ranged, days[0], days[-1], DAY_TABLES, instance)
        # Silver of every day first: sessions and the funnel of D read D+1.
        for tables in (SILVER_DAY_TABLES, later):
            for day in days:
                run(daily, day, day, tables, instance)
    assert stored(ranged, SILVER_EVENTS).height > 3000
    for spec in DAY_TABLES:
        assert_frame_equal(stored(ranged, spec), stored(daily, spec), check_exact=False)
