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
from orchestration.followups import Lineage
from orchestration.partitions import daily_partitions, range_tags
from orchestration.resources import LakeResource
from orchestration.sensors import evaluate_bronze_commits, followup_requests

TODAY = datetime.now(UTC).date()
START = "dagster/asset_partition_range_start"


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
    assert request_ranges(second.run_requests) == [days(ago(10), ago(0))]  # one run per tick
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


def waiting_run(instance: dg.DagsterInstance, job: str, first: date | None = None,
                last: date | None = None, assets: set[str] | None = None,
                status: dg.DagsterRunStatus = dg.DagsterRunStatus.NOT_STARTED) -> dg.DagsterRun:  # fmt: skip
    """A run created but not started yet (QUEUED needs a code origin; both count as waiting)."""
    tags = range_tags(first, last) if first and last else {}
    selection = {dg.AssetKey(a.split("/")) for a in assets} if assets else None
    return instance.add_run(
        dg.DagsterRun(job_name=job, status=status, tags=tags, asset_selection=selection)
    )


def test_a_burst_of_commits_adds_no_run_while_one_waits_for_its_days(
    settings: Settings, instance: dg.DagsterInstance, defs: dg.Definitions
) -> None:
    append_bronze(settings, [login("a", "u1", noon(ago(0)))])
    first = tick(defs, settings, instance, None)
    assert request_ranges(first.run_requests) == [days(ago(0), ago(0))]
    run = waiting_run(instance, "ingested_days", ago(0), ago(0))  # queued, not started

    cursor = first.cursor
    for i in range(10):  # ten commits to today while the run waits: it will read them all
        append_bronze(settings, [login(f"b{i}", "u2", noon(ago(0)))])
        result = tick(defs, settings, instance, cursor)
        assert not result.run_requests
        cursor = result.cursor or cursor
    assert "1 covered by waiting runs" in (result.skip_message or "")

    # A late day is not covered: one new run takes it and the waiting run's days.
    append_bronze(settings, [login("c", "u3", noon(ago(3))), login("d", "u4", noon(ago(0)))])
    late = tick(defs, settings, instance, cursor)
    assert request_ranges(late.run_requests) == [days(ago(3), ago(0))]
    # it writes today and past days: it holds both lanes (one run at a time in each)
    assert {"eventlake/lane.today", "eventlake/lane.past"} <= late.run_requests[0].tags.keys()
    assert "eventlake/lane.past" not in first.run_requests[0].tags  # today alone
    newer = waiting_run(instance, "ingested_days", ago(3), ago(0))
    tick(defs, settings, instance, late.cursor)  # the older waiting run is now superseded
    assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.CANCELED
    assert instance.get_run_by_id(newer.run_id).status == dg.DagsterRunStatus.NOT_STARTED

    # Once the run has started it may have read the log already: new commits run again.
    instance.handle_run_event(newer.run_id, _started(newer))
    append_bronze(settings, [login("e", "u5", noon(ago(0)))])
    again = tick(defs, settings, instance, late.cursor)
    assert request_ranges(again.run_requests) == [days(ago(0), ago(0))]


def _started(run: dg.DagsterRun) -> dg.DagsterEvent:
    return dg.DagsterEvent(
        event_type_value=dg.DagsterEventType.RUN_START.value, job_name=run.job_name
    )


def test_follow_ups_leave_out_what_a_waiting_run_covers(
    settings: Settings, instance: dg.DagsterInstance, defs: dg.Definitions
) -> None:
    settings = replace(settings, start_date=ago(40))
    defs = build_definitions(settings)
    append_bronze(settings, [login("a", "u1", noon(ago(20))), login("b", "u1", noon(ago(0)))])
    job = defs.resolve_job_def("ingested_days")
    run = job.execute_in_process(instance=instance, tags=range_tags(ago(20), ago(20)))
    lineage = Lineage.of(a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition))
    partitions = daily_partitions(settings)

    def asked() -> list[tuple[str, str, str]]:
        requests = followup_requests(instance, run.run_id, settings, partitions, lineage,
                                     datetime.now(UTC))  # fmt: skip
        return sorted(
            (r.job_name or "", r.tags.get(START, ""), r.tags.get(START.replace("start", "end"), ""))
            for r in requests
        )

    # DAU of the 29 days after, sessions and lifecycle of D+1, funnel and sessions of D-1
    assert asked() == [("follow_ups", *days(ago(21), ago(0))), ("whole_tables", "", "")]
    waiting_run(instance, "whole_tables")
    older = waiting_run(instance, "follow_ups", ago(30), ago(10), {"gold/daily_active_users"})
    waiting_run(instance, "ingested_days", ago(5), ago(0))  # every day table of -5..0
    # Left: sessions, funnel and lifecycle of -21..-19 and DAU of -9..-6, in one run that
    # also takes the waiting follow-up's days (DAU of -30..-10); whole tables are waiting.
    assert asked() == [("follow_ups", *days(ago(30), ago(6)))]
    waiting_run(instance, "follow_ups", ago(30), ago(6), {"gold/daily_active_users",
                "silver/sessions", "gold/sessions_daily", "gold/funnel_daily",
                "gold/lifecycle_daily"})  # fmt: skip
    asked()
    assert instance.get_run_by_id(older.run_id).status == dg.DagsterRunStatus.CANCELED
