"""The projection benchmark's equal-work reference agrees with the lake, table by table.

Two independent restatements of docs/metrics.md (the Polars projections run by Dagster, and the
DuckDB SQL of bench/duckdb_silver.py and bench/duckdb_gold.py) on generated bronze events with
duplicates, v1 payloads and late events: after a full build, and after the late day's
incremental update beside a rebuild of the lake.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

from bench import duckdb_reference
from bench.events import BenchShape, generate
from bench.phases import late_events
from eventlake import lake
from eventlake.catalog import BRONZE_EVENTS, GOLD_REVENUE_DAILY
from eventlake.settings import Settings
from orchestration.materialize import materialize_days

SHAPE = BenchShape(events=20_000, days=6, users=800)
FIRST, LAST = SHAPE.first_day, SHAPE.first_day + timedelta(days=SHAPE.days - 1)


@pytest.fixture
def lakes(tmp_path: Path) -> tuple[Settings, Settings]:
    """The lake with generated bronze events, materialized; the reference lake, built."""
    ours = Settings.from_env(env={}, lake_root=str(tmp_path / "lake"), start_date=FIRST)
    theirs = Settings.from_env(env={}, lake_root=str(tmp_path / "duckdb-lake"))
    lake.append(ours, BRONZE_EVENTS, generate(SHAPE))
    materialize_days(ours, FIRST, LAST)
    duckdb_reference.full(ours, theirs, FIRST, LAST)
    return ours, theirs


def test_the_reference_equals_the_lake_table_by_table(lakes: tuple[Settings, Settings]) -> None:
    ours, theirs = lakes
    found = duckdb_reference.compare(ours, theirs)

    assert set(found) == set(duckdb_reference.KEYS)  # every silver and gold table
    assert found == dict.fromkeys(found, "equal")


def test_the_compare_sees_a_missing_row_and_a_changed_figure(
    lakes: tuple[Settings, Settings],
) -> None:
    ours, theirs = lakes
    revenue = lake.scan(ours, GOLD_REVENUE_DAILY).collect()
    lake.replace_all(ours, GOLD_REVENUE_DAILY, revenue.head(-1))
    assert "rows here" in duckdb_reference.compare(ours, theirs)["gold/revenue_daily"]

    changed = revenue.with_columns(pl.col("revenue") * (1 + 1e-6))
    lake.replace_all(ours, GOLD_REVENUE_DAILY, changed)
    assert duckdb_reference.compare(ours, theirs)["gold/revenue_daily"] != "equal"


def test_the_day_update_reaches_the_rebuild_of_the_lake(lakes: tuple[Settings, Settings]) -> None:
    ours, theirs = lakes
    day = FIRST + timedelta(days=SHAPE.days // 2)
    # Late copies of the day's events by users never seen before: new in the day's lifecycle,
    # dormant the day after, in the 7- and 30-day windows of the days that follow.
    late = late_events(ours, day, n=300).with_columns(
        pl.col("payload").str.replace('"user_id":"', '"user_id":"late-', literal=True)
    )
    lake.append(ours, BRONZE_EVENTS, late, metadata={lake.EVENT_DATES_KEY: str(day)})

    materialize_days(ours, FIRST, LAST)  # the definition: everything again from the log
    timings = duckdb_reference.day_update(ours, theirs, day, FIRST, LAST)

    assert late.height > 0
    assert set(timings["tables"]) == set(duckdb_reference.KEYS)
    found = duckdb_reference.compare(ours, theirs)
    assert found == dict.fromkeys(found, "equal")
