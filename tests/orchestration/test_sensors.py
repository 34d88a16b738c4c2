"""The sensors against a real Dagster instance and a real lake: touched days, late data, windows."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import pytest
from bronze_log_rows import append_bronze, login, noon

from eventlake.settings import Settings
from orchestration.bronze_log import BronzeCursor
from orchestration.definitions import build_definitions
from orchestration.partitions import daily_partitions
from orchestration.resources import LakeResource
from orchestration.sensors import evaluate_bronze_commits

TODAY = datetime.now(UTC).date()


def ago(days: int) -> date:
    return TODAY - timedelta(days=days)


def request_ranges(requests: list[dg.RunRequest]) -> list[tuple[str, str]]:
    return sorted(
        (r.tags["dagster/asset_partition_range_start"], r.tags["dagster/asset_partition_range_end"])
        for r in requests
    )


def days(first: date, last: date) -> tuple[str, str]:
    return first.isoformat(), last.isoformat()


@pytest.fixture
def defs(settings: Settings) -> dg.Definitions:
    return build_definitions(settings)


def tick(defs: dg.Definitions, settings: Settings, instance: dg.DagsterInstance,
         cursor: str | None) -> dg.SensorExecutionData:  # fmt: skip
    with dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"lake": LakeResource.from_settings(settings)}
    ) as context:
        return defs.resolve_sensor_def("bronze_commits").evaluate_tick(context)


def test_new_commits_become_runs_for_exactly_the_touched_days(
    settings: Settings, instance: dg.DagsterInstance, defs: dg.Definitions
) -> None:
    assert tick(defs, settings, instance, None).skip_message  # no bronze table yet

    append_bronze(settings, [login("a", "u1", noon(ago(1))), login("b", "u2", noon(ago(0)))])
    first = tick(defs, settings, instance, None)  # first tick: every event day
    assert request_ranges(first.run_requests) == [days(ago(1), ago(0))]
    assert json.loads(first.cursor)["version"] == 1

    version = append_bronze(  # today's traffic and one event 10 days late
        settings, [login("c", "u3", noon(ago(0))), login("d", "u4", noon(ago(10)))]
    )
    second = tick(defs, settings, instance, first.cursor)
    assert request_ranges(second.run_requests) == [days(ago(10), ago(10)), days(ago(0), ago(0))]
    assert all(f"@{version}:" in r.run_key for r in second.run_requests)
    assert all(r.tags["eventlake/bronze_version"] == str(version) for r in second.run_requests)
    assert BronzeCursor.from_json(second.cursor) == BronzeCursor(version)

    third = tick(defs, settings, instance, second.cursor)  # nothing new
    assert not third.run_requests
    assert third.skip_message

    # An event dated tomorrow is no partition yet: it waits in the cursor, then runs.
    tomorrow = TODAY + timedelta(days=1)
    version = append_bronze(settings, [login("e", "u5", noon(tomorrow))])
    fourth = tick(defs, settings, instance, third.cursor or second.cursor)
    assert not fourth.run_requests
    assert BronzeCursor.from_json(fourth.cursor) == BronzeCursor(version, (tomorrow,))
    later = evaluate_bronze_commits(
        settings,
        daily_partitions(settings),
        fourth.cursor,
        datetime.combine(tomorrow, datetime.min.time(), UTC) + timedelta(hours=1),
    )
    assert request_ranges(later.run_requests) == [days(tomorrow, tomorrow)]
    assert BronzeCursor.from_json(later.cursor) == BronzeCursor(version)


def test_days_retired_from_the_log_are_never_run_again(
    settings: Settings, instance: dg.DagsterInstance
) -> None:
    """With bronze retention, a late event landing in a retired day must not rebuild that day
    from a log that no longer holds it (it would wipe its silver and gold)."""
    keep_3_days = build_definitions(replace(settings, bronze_retention_days=3))
    append_bronze(settings, [login("a", "u1", noon(ago(1)))])
    first = tick(keep_3_days, settings, instance, None)
    append_bronze(settings, [login("b", "u2", noon(ago(10))), login("c", "u3", noon(ago(3)))])
    second = tick(keep_3_days, settings, instance, first.cursor)
    assert request_ranges(second.run_requests) == [days(ago(3), ago(3))]  # not ago(10)
