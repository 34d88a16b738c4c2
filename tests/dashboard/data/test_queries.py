"""The overview and lake-state queries and the table reads of dashboard/data against real Delta tables."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from deltalake import DeltaTable
from polars.testing import assert_frame_equal

from dashboard.data import lake_state, overview, reads
from dashboard.data.scope import Scope
from eventlake import lake
from eventlake.catalog import BRONZE_EVENTS, GOLD_DAILY_ACTIVE_USERS, GOLD_REVENUE_DAILY
from eventlake.errors import LakeError
from eventlake.settings import Settings

D = date(2024, 5, 1)


def day(i: int) -> date:
    """Returns the i-th day after D."""
    return D + timedelta(days=i)


def test_missing_tables_read_as_empty_frames_of_their_schema(settings: Settings) -> None:
    users = overview.active_users(settings, Scope(day(0), day(9)))
    revenue = overview.revenue(settings, Scope(day(0), day(9)))

    assert users.is_empty() and users.schema == GOLD_DAILY_ACTIVE_USERS.schema
    assert revenue.is_empty() and revenue.schema == GOLD_REVENUE_DAILY.schema
    assert lake_state.data_range(settings, Scope()) is None
    assert lake_state.newest_event_time(settings, Scope()) is None


def test_active_users_returns_the_days_asked_for_oldest_first(settings: Settings, frames) -> None:
    rows = [(day(i), 10 * i, 20 * i, 30 * i + 1) for i in (4, 0, 2, 1, 3)]
    lake.replace_days(settings, GOLD_DAILY_ACTIVE_USERS, frames.users(rows), day(0), day(4))

    got = overview.active_users(settings, Scope(day(1), day(3)))

    expected = frames.users([(day(i), 10 * i, 20 * i, 30 * i + 1) for i in (1, 2, 3)])
    assert_frame_equal(got, expected)


def test_revenue_returns_day_and_currency_rows_sorted(settings: Settings, frames) -> None:
    rows = [
        (day(2), "USD", 1, 5.0),
        (day(1), "USD", 2, 7.0),
        (day(1), "EUR", 3, 9.0),
        (day(0), "EUR", 1, 1.0),
    ]
    lake.replace_days(settings, GOLD_REVENUE_DAILY, frames.revenue(rows), day(0), day(2))

    got = overview.revenue(settings, Scope(day(1), day(2)))

    assert got.select("day", "currency", "orders", "revenue").rows() == [
        (day(1), "EUR", 3, 9.0),
        (day(1), "USD", 2, 7.0),
        (day(2), "USD", 1, 5.0),
    ]
    assert got["avg_order_value"].to_list() == [3.0, 3.5, 5.0]


def test_data_range_spans_every_overview_table(settings: Settings, frames) -> None:
    lake.replace_days(
        settings, GOLD_DAILY_ACTIVE_USERS, frames.users([(day(3), 1, 1, 1), (day(6), 1, 1, 1)]),
        day(3), day(6),
    )  # fmt: skip
    assert lake_state.data_range(settings, Scope()) == (day(3), day(6))

    lake.replace_days(
        settings, GOLD_REVENUE_DAILY, frames.revenue([(day(1), "EUR", 1, 1.0)]), day(1), day(1)
    )
    assert lake_state.data_range(settings, Scope()) == (day(1), day(6))


def test_last_commit_is_the_newest_data_commit(settings: Settings, frames) -> None:
    assert lake_state.last_commit(settings, GOLD_DAILY_ACTIVE_USERS).last_commit is None

    before = datetime.now(UTC) - timedelta(seconds=1)
    lake.append(settings, GOLD_DAILY_ACTIVE_USERS, frames.users([(day(0), 1, 1, 1)]))
    version = lake.append(settings, GOLD_DAILY_ACTIVE_USERS, frames.users([(day(0), 2, 2, 2)]))
    compacted = DeltaTable(lake.table_uri(settings, GOLD_DAILY_ACTIVE_USERS))
    compacted.optimize.compact()  # rewrites files, changes no figure
    assert compacted.version() == version + 1

    got = lake_state.last_commit(settings, GOLD_DAILY_ACTIVE_USERS)

    assert got.table == GOLD_DAILY_ACTIVE_USERS.name
    assert got.version == version
    assert got.last_commit is not None
    assert before <= got.last_commit <= datetime.now(UTC)
    assert got.age_seconds(got.last_commit + timedelta(seconds=90)) == 90.0
    assert got.age_seconds(got.last_commit - timedelta(seconds=5)) == 0.0


def test_newest_event_time_comes_from_the_newest_file(settings: Settings, frames) -> None:
    newest = datetime(2024, 5, 3, 14, 3, 2, 345000, tzinfo=UTC)
    lake.append(settings, BRONZE_EVENTS, frames.events([datetime(2024, 5, 1, tzinfo=UTC), newest]))
    lake.append(settings, BRONZE_EVENTS, frames.events([datetime(2024, 5, 2, 23, 0, tzinfo=UTC)]))

    assert lake_state.newest_event_time(settings, Scope()) == newest


def test_newest_event_time_scans_the_newest_day_when_files_carry_no_statistics(
    settings: Settings, frames
) -> None:
    DeltaTable.create(
        lake.table_uri(settings, BRONZE_EVENTS),
        BRONZE_EVENTS.empty().to_arrow().schema,
        partition_by=list(BRONZE_EVENTS.partition_by),
        configuration={"delta.dataSkippingNumIndexedCols": "0"},
    )
    newest = datetime(2024, 5, 3, 14, 3, 2, 345678, tzinfo=UTC)  # microseconds survive a scan
    lake.append(settings, BRONZE_EVENTS, frames.events([datetime(2024, 5, 1, tzinfo=UTC), newest]))

    assert lake_state.newest_event_time(settings, Scope()) == newest


def test_freshness_has_one_entry_per_table_and_the_newest_event(settings: Settings, frames) -> None:
    newest = datetime(2024, 5, 3, 8, 0, 1, tzinfo=UTC)
    version = lake.append(settings, BRONZE_EVENTS, frames.events([newest]))

    got = lake_state.freshness(settings, Scope())

    assert [t.table for t in got.tables] == [
        BRONZE_EVENTS.name,
        GOLD_DAILY_ACTIVE_USERS.name,
        GOLD_REVENUE_DAILY.name,
    ]
    bronze = got.table(BRONZE_EVENTS.name)
    assert bronze is not None and bronze.version == version and bronze.last_commit is not None
    assert got.table(GOLD_REVENUE_DAILY.name) == lake_state.TableFreshness(
        GOLD_REVENUE_DAILY.name, None, None
    )
    assert got.newest_event == newest


def test_an_unreadable_table_raises_lake_error_naming_it(settings: Settings, frames) -> None:
    lake.append(settings, GOLD_REVENUE_DAILY, frames.revenue([(day(0), "EUR", 1, 1.0)]))
    log = Path(settings.lake_root) / GOLD_REVENUE_DAILY.name / "_delta_log"
    sorted(log.glob("*.json"))[-1].write_text("not a commit\n")

    with pytest.raises(LakeError, match=GOLD_REVENUE_DAILY.name):
        overview.revenue(settings, Scope(day(0), day(1)))
    with pytest.raises(LakeError, match=GOLD_REVENUE_DAILY.name):
        lake_state.data_range(settings, Scope())


def test_results_are_plain_polars_frames(settings: Settings, frames) -> None:
    lake.replace_days(
        settings, GOLD_DAILY_ACTIVE_USERS, frames.users([(day(0), 1, 2, 4)]), day(0), day(0)
    )
    got = overview.active_users(settings, Scope(day(0), day(0)))
    assert isinstance(got, pl.DataFrame)
    assert got.row(0, named=True) == {
        "day": day(0),
        "dau": 1,
        "wau": 2,
        "mau": 4,
        "stickiness": 0.25,
    }


def test_versioned_results_are_reused_until_the_table_moves_on(settings: Settings, frames) -> None:
    calls = []

    def compute() -> pl.LazyFrame:
        calls.append(1)
        return lake.scan(settings, GOLD_DAILY_ACTIVE_USERS).select(pl.len())

    lake.append(settings, GOLD_DAILY_ACTIVE_USERS, frames.users([(day(0), 1, 1, 1)]))
    first = reads.versioned(settings, GOLD_DAILY_ACTIVE_USERS, None, ("n",), compute)
    again = reads.versioned(settings, GOLD_DAILY_ACTIVE_USERS, None, ("n",), compute)
    lake.append(settings, GOLD_DAILY_ACTIVE_USERS, frames.users([(day(1), 1, 1, 1)]))
    moved = reads.versioned(settings, GOLD_DAILY_ACTIVE_USERS, None, ("n",), compute)

    assert (first.item(), again.item(), moved.item()) == (1, 1, 2)
    assert len(calls) == 2
