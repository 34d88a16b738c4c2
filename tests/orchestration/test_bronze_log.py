"""Reading touched event days from the bronze Delta log; partitions and day ranges."""

from __future__ import annotations

from datetime import UTC, date, datetime

import dagster as dg
from bronze_log_rows import append_bronze, bronze_frame, login, noon

from eventlake import lake
from eventlake.catalog import BRONZE_EVENTS
from eventlake.settings import Settings
from orchestration.bronze_log import BronzeCursor, plan_days, touched_since
from orchestration.partitions import daily_partitions, day_ranges, partition_span

D = [date(2024, 5, d) for d in range(1, 10)]


def test_touched_days_come_from_commit_metadata(settings: Settings) -> None:
    v1 = append_bronze(settings, [login("a", "u1", noon(D[0])), login("b", "u1", noon(D[1]))])
    v2 = append_bronze(settings, [login("c", "u2", noon(D[5]))])
    table = lake.open_table(settings, BRONZE_EVENTS)

    assert touched_since(table, v1).days == {D[5]}
    assert touched_since(table, v1 - 1).days == {D[0], D[1], D[5]}
    assert touched_since(table, v2).days == set()
    recreated = touched_since(table, v2 + 5)  # a cursor ahead of the table
    assert recreated.everything and recreated.days == {D[0], D[1], D[5]}
    first_look = touched_since(table, None)
    assert (first_look.version, first_look.days, first_look.everything) == (
        v2,
        {D[0], D[1], D[5]},
        True,
    )


def test_falls_back_to_every_day_when_commits_cannot_be_read_alone(settings: Settings) -> None:
    v1 = append_bronze(settings, [login("a", "u1", noon(D[0]))])
    append_bronze(settings, [login("b", "u1", noon(D[1]))])
    append_bronze(settings, [login("c", "u1", noon(D[2]))])
    table = lake.open_table(settings, BRONZE_EVENTS)
    too_many = touched_since(table, v1, limit=1)
    assert too_many.everything and too_many.days == {D[0], D[1], D[2]}

    # A data commit without the event-dates metadata: nothing tells which days it touched.
    lake.append(settings, BRONZE_EVENTS, bronze_frame([login("d", "u1", noon(D[3]))]))
    table = lake.open_table(settings, BRONZE_EVENTS)
    unknown = touched_since(table, table.version() - 1)
    assert unknown.everything and unknown.days == {D[0], D[1], D[2], D[3]}


def test_compaction_touches_no_day(settings: Settings) -> None:
    append_bronze(settings, [login("a", "u1", noon(D[0]))])
    append_bronze(settings, [login("b", "u1", noon(D[0]))])
    table = lake.open_table(settings, BRONZE_EVENTS)
    before = table.version()
    table.optimize.compact()
    table = lake.open_table(settings, BRONZE_EVENTS)
    assert table.version() == before + 1
    assert touched_since(table, before).days == set()


def test_plan_keeps_future_days_pending_and_drops_days_before_the_start() -> None:
    due, later = plan_days([D[8], D[2], D[0]], [D[3]], first=D[1], last=D[7])
    assert due == [D[2], D[3]]
    assert later == (D[8],)


def test_day_ranges_group_consecutive_days() -> None:
    assert day_ranges([D[4], D[0], D[1], D[2], D[6], D[1]]) == [
        (D[0], D[2]),
        (D[4], D[4]),
        (D[6], D[6]),
    ]
    assert day_ranges([]) == []


def test_cursor_round_trips_and_a_broken_cursor_counts_as_none() -> None:
    cursor = BronzeCursor(7, (D[3], D[2]))
    assert BronzeCursor.from_json(cursor.to_json()) == BronzeCursor(7, (D[2], D[3]))
    assert BronzeCursor.from_json("{not json") is None
    assert BronzeCursor.from_json(None) is None


def test_partition_span_ends_today_like_dagster(settings: Settings) -> None:
    partitions = daily_partitions(settings)
    now = datetime.now(UTC)
    first, last = partition_span(partitions, now)
    assert first == settings.start_date
    assert last == now.date()
    assert partitions.get_last_partition_key() == last.isoformat()
    assert partitions.get_first_partition_key() == first.isoformat()
    assert isinstance(partitions, dg.DailyPartitionsDefinition)
