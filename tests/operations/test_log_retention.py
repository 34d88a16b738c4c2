"""Bronze retention on real Delta tables: old days are summarized, then deleted, exactly once."""

from __future__ import annotations

import dataclasses
import sys
from datetime import UTC, date, datetime, time
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from eventlake import lake
from eventlake.catalog import BRONZE_DEAD_LETTERS, BRONZE_EVENTS, BRONZE_RETIRED_DAYS
from eventlake.settings import Settings
from operations import log_retention
from operations.maintenance import MAINTENANCE_KEY
from orchestration.bronze_log import touched_since

# The bronze row builders live with the asset tests; share them rather than copy them.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "assets"))
from bronze_log_rows import append_bronze, login, order

TODAY = date(2026, 11, 20)  # 3 days kept before it: the horizon is 2026-11-17
OLD, OLDISH, FIRST_KEPT = date(2026, 11, 10), date(2026, 11, 16), date(2026, 11, 17)


def at(day: date, hour: int = 12, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), UTC)


def dead_letter(code: str, ingested: datetime, offset: int) -> dict:
    return {
        "kafka_topic": "user_events",
        "kafka_partition": 0,
        "kafka_offset": offset,
        "kafka_timestamp": ingested,
        "key": None,
        "raw": b"{",
        "error_code": code,
        "error_detail": "x",
        "ingested_at": ingested,
    }


@pytest.fixture
def policy(settings: Settings) -> Settings:
    """A lake with events and dead letters on both sides of the horizon, 3 days retained."""
    append_bronze(
        settings,
        [
            login("e1", "u1", at(OLD), ingested_at=at(OLD, 13)),
            login("e2", "u2", at(OLD), ingested_at=at(OLD, 14)),
            order("e3", "u1", "o1", 10.0, "EUR", at(OLD), ingested_at=at(OLD, 15)),
            login("e4", "u1", at(OLDISH), ingested_at=at(FIRST_KEPT, 1)),  # late: day counts
            login("e5", "u3", at(FIRST_KEPT), ingested_at=at(FIRST_KEPT, 13)),
            login("e6", "u3", at(TODAY), ingested_at=at(TODAY, 1)),
        ],
    )
    dead = [
        dead_letter("not_json", at(date(2026, 11, 12), 8), 100),
        dead_letter("not_json", at(date(2026, 11, 12), 9), 101),
        dead_letter("missing_field", at(date(2026, 11, 12), 10), 102),
        dead_letter("not_json", at(OLDISH, 23, 59), 103),
        dead_letter("not_json", at(FIRST_KEPT, 0), 104),  # the horizon's first moment: kept
        dead_letter("payload_invalid", at(date(2026, 11, 19)), 105),
    ]
    lake.append(
        settings, BRONZE_DEAD_LETTERS, pl.DataFrame(dead, schema=BRONZE_DEAD_LETTERS.schema)
    )
    return dataclasses.replace(settings, bronze_retention_days=3)


SUMMARY_COLUMNS = ("source_table", "day", "event_type", "error_code", "rows", "aggregates",
                   "first_ingested_at", "last_ingested_at", "retirement")  # fmt: skip


def summary(settings: Settings) -> pl.DataFrame:
    return (
        lake.scan(settings, BRONZE_RETIRED_DAYS)
        .select(SUMMARY_COLUMNS)
        .sort("source_table", "day", "event_type", "error_code", "retirement")
        .collect()
    )


def expected_summary(rows: list[tuple]) -> pl.DataFrame:
    schema = {c: BRONZE_RETIRED_DAYS.schema[c] for c in SUMMARY_COLUMNS}
    return pl.DataFrame(rows, schema=schema, orient="row")


EVENTS, DEAD = BRONZE_EVENTS.name, BRONZE_DEAD_LETTERS.name
FIRST_PASS = [
    (DEAD, date(2026, 11, 12), None, "missing_field", 1, None, at(date(2026, 11, 12), 10),
     at(date(2026, 11, 12), 10), 1),
    (DEAD, date(2026, 11, 12), None, "not_json", 2, None, at(date(2026, 11, 12), 8),
     at(date(2026, 11, 12), 9), 1),
    (DEAD, OLDISH, None, "not_json", 1, None, at(OLDISH, 23, 59), at(OLDISH, 23, 59), 1),
    (EVENTS, OLD, "login", None, 2, 2, at(OLD, 13), at(OLD, 14), 1),
    (EVENTS, OLD, "order_placed", None, 1, 1, at(OLD, 15), at(OLD, 15), 1),
    (EVENTS, OLDISH, "login", None, 1, 1, at(FIRST_KEPT, 1), at(FIRST_KEPT, 1), 1),
]  # fmt: skip


def kept(settings: Settings) -> tuple[list[str], list[int]]:
    """Returns the event ids left in bronze/events and the offsets left in dead letters."""
    events = lake.scan(settings, BRONZE_EVENTS).collect().get_column("event_id").sort()
    dead = lake.scan(settings, BRONZE_DEAD_LETTERS).collect().get_column("kafka_offset").sort()
    return events.to_list(), dead.to_list()


def test_horizon_counts_the_kept_days_back_from_today(settings: Settings) -> None:
    assert log_retention.horizon(settings, TODAY) is None
    assert log_retention.policy_warnings(settings) == []
    short = log_retention.policy_warnings(dataclasses.replace(settings, bronze_retention_days=7))
    assert len(short) == 2 and "late" in short[0] and "EVENTLAKE_RECONCILE_DAYS=7" in short[1]
    assert (
        log_retention.policy_warnings(dataclasses.replace(settings, bronze_retention_days=31)) == []
    )
    assert log_retention.horizon(dataclasses.replace(settings, bronze_retention_days=3), TODAY) == (
        FIRST_KEPT
    )


def test_old_days_are_summarized_then_deleted_and_newer_days_kept(policy: Settings) -> None:
    dry = log_retention.retire(policy, today=TODAY, dry_run=True)
    assert [(r.table, r.days, r.rows) for r in dry] == [
        (EVENTS, (OLD, OLDISH), 4),
        (DEAD, (date(2026, 11, 12), OLDISH), 4),
    ]
    assert lake.open_table(policy, BRONZE_RETIRED_DAYS) is None  # a dry run writes nothing
    assert kept(policy) == (["e1", "e2", "e3", "e4", "e5", "e6"], list(range(100, 106)))
    before = lake.open_table(policy, BRONZE_EVENTS).version()  # type: ignore[union-attr]

    done = log_retention.retire(policy, today=TODAY)

    assert [(r.table, r.horizon, r.rows, r.retirement) for r in done] == [
        (EVENTS, FIRST_KEPT, 4, 1),
        (DEAD, FIRST_KEPT, 4, 1),
    ]
    assert kept(policy) == (["e5", "e6"], [104, 105])
    assert_frame_equal(summary(policy), expected_summary(FIRST_PASS))
    events = lake.open_table(policy, BRONZE_EVENTS)
    assert events is not None
    last = events.history(1)[0]
    assert (last["operation"], last[MAINTENANCE_KEY]) == ("DELETE", "retire")
    assert events.transaction_version(log_retention.RETENTION_APP_ID) == 1
    # the bronze sensor sees no touched day: rebuilding a retired day would wipe its gold rows
    touched = touched_since(events, before)
    assert (touched.days, touched.everything) == (frozenset(), False)


def test_retiring_again_retires_nothing_and_late_rows_get_a_pass_of_their_own(
    policy: Settings,
) -> None:
    log_retention.retire(policy, today=TODAY)
    versions = [lake.open_table(policy, s).version() for s in (BRONZE_EVENTS, BRONZE_RETIRED_DAYS)]  # type: ignore[union-attr]

    again = log_retention.retire(policy, today=TODAY)

    assert [(r.rows, r.retirement) for r in again] == [(0, None), (0, None)]
    assert [
        lake.open_table(policy, s).version() for s in (BRONZE_EVENTS, BRONZE_RETIRED_DAYS)
    ] == versions  # type: ignore[union-attr]
    assert_frame_equal(summary(policy), expected_summary(FIRST_PASS))

    append_bronze(policy, [login("e7", "u9", at(OLD, 18), ingested_at=at(TODAY, 2))])  # late
    later = log_retention.retire(policy, today=TODAY, tables=[BRONZE_EVENTS])

    assert [(r.days, r.rows, r.retirement) for r in later] == [((OLD,), 1, 2)]
    late = (EVENTS, OLD, "login", None, 1, 1, at(TODAY, 2), at(TODAY, 2), 2)
    assert_frame_equal(summary(policy), expected_summary([*FIRST_PASS[:4], late, *FIRST_PASS[4:]]))
    assert kept(policy)[0] == ["e5", "e6"]


def test_a_crash_between_summary_and_delete_is_completed_by_the_next_pass(
    policy: Settings,
) -> None:
    table = lake.open_table(policy, BRONZE_EVENTS)
    assert table is not None
    crashed = log_retention.summarize(BRONZE_EVENTS, table, FIRST_KEPT, now=at(TODAY), retirement=1)
    log_retention.write_summary(policy, BRONZE_EVENTS, crashed, completed=0)  # ...then no delete
    assert summary(policy).get_column("rows").sum() == 4
    append_bronze(policy, [login("e7", "u9", at(OLD, 18), ingested_at=at(TODAY, 2))])  # meanwhile

    log_retention.retire(policy, today=TODAY)

    login_old = (EVENTS, OLD, "login", None, 3, 3, at(OLD, 13), at(TODAY, 2), 1)
    assert_frame_equal(
        summary(policy), expected_summary([*FIRST_PASS[:3], login_old, *FIRST_PASS[4:]])
    )
    assert kept(policy) == (["e5", "e6"], [104, 105])


def test_no_policy_keeps_everything(policy: Settings) -> None:
    keep_all = dataclasses.replace(policy, bronze_retention_days=None)
    assert log_retention.retire(keep_all, today=TODAY) == []
    assert lake.open_table(keep_all, BRONZE_RETIRED_DAYS) is None
    assert kept(keep_all) == (["e1", "e2", "e3", "e4", "e5", "e6"], list(range(100, 106)))
