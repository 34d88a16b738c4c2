"""The sensors against a real Dagster instance and a real lake: touched days, late data, windows."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import pytest
from bronze_log_rows import append_bronze, login, noon, order
from polars.testing import assert_frame_equal

from assets.active_users import daily_active_users
from assets.revenue import revenue_daily
from eventlake import lake
from eventlake.catalog import GOLD_DAILY_ACTIVE_USERS, GOLD_REVENUE_DAILY, SILVER_EVENTS
from eventlake.settings import Settings
from orchestration.bronze_log import BronzeCursor
from orchestration.definitions import build_definitions
from orchestration.partitions import daily_partitions, range_tags
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


def test_late_event_rewrites_its_day_then_the_windows_and_orders_that_read_it(
    settings: Settings, instance: dg.DagsterInstance, defs: dg.Definitions
) -> None:
    append_bronze(
        settings,
        [
            login("a", "u1", noon(ago(12))),
            order("b", "u2", "o1", 10.0, "EUR", noon(ago(3))),
            login("c", "u3", noon(ago(0))),
        ],
    )
    ingested = defs.resolve_job_def("ingested_days")
    setup = ingested.execute_in_process(instance=instance, tags=range_tags(ago(12), ago(0)))
    assert setup.success
    cursor = tick(defs, settings, instance, None).cursor

    # Late: a new user 10 days ago, and order o1 placed earlier than the copy counted on day -3.
    late = order("d", "u2", "o1", 10.0, "EUR", noon(ago(10)) - timedelta(hours=1))
    append_bronze(settings, [login("e", "u9", noon(ago(10))), late])
    (request,) = tick(defs, settings, instance, cursor).run_requests
    assert request_ranges([request]) == [days(ago(10), ago(10))]

    run = ingested.execute_in_process(instance=instance, tags=request.tags)
    assert run.success
    assert {e.partition for e in run.get_asset_materialization_events()} == {ago(10).isoformat()}

    followups = evaluate_followups(defs, settings, instance, run)
    wanted = {
        ("gold/daily_active_users", days(ago(9), ago(0))),  # the 29 days after, clipped to today
        ("gold/revenue_daily", days(ago(3), ago(3))),  # o1 no longer counts there
    }
    assert {(sel(r), request_ranges([r])[0]) for r in followups} == wanted
    assert all(r.job_name == "silver_followups" for r in followups)

    followup_job = defs.resolve_job_def("silver_followups")
    for r in followups:
        done = followup_job.execute_in_process(
            instance=instance, tags=r.tags, asset_selection=r.asset_selection
        )
        assert done.success
        assert evaluate_followups(defs, settings, instance, done) == []  # no silver: no chain

    # Every gold figure now equals a rebuild from scratch.
    silver = lake.scan(settings, SILVER_EVENTS)
    assert_frame_equal(
        lake.scan(settings, GOLD_DAILY_ACTIVE_USERS).sort("day").collect(),
        daily_active_users(silver, ago(12), ago(0)).collect(),
    )
    assert_frame_equal(
        lake.scan(settings, GOLD_REVENUE_DAILY).sort("day", "currency").collect(),
        revenue_daily(silver, ago(12), ago(0)).collect(),
    )
    revenue_days = lake.scan(settings, GOLD_REVENUE_DAILY).collect().get_column("day")
    assert revenue_days.to_list() == [ago(10)]


def sel(request: dg.RunRequest) -> str:
    (key,) = request.asset_selection
    return key.to_user_string()


def evaluate_followups(defs: dg.Definitions, settings: Settings, instance: dg.DagsterInstance,
                       run: dg.ExecuteInProcessResult) -> list[dg.RunRequest]:  # fmt: skip
    with dg.build_run_status_sensor_context(
        sensor_name="silver_followups",
        dagster_event=run.get_run_success_event(),
        dagster_instance=instance,
        dagster_run=run.dagster_run,
        resources={"lake": LakeResource.from_settings(settings)},
    ) as context:
        returned = defs.resolve_sensor_def("silver_followups")(context)
    return list(returned or [])
