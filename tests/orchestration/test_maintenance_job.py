"""The `lake_maintenance` job, run for real in-process on a small lake of many small files."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from bronze_log_rows import append_bronze, login, noon
from polars.testing import assert_frame_equal

from eventlake import lake
from eventlake.catalog import BRONZE_EVENTS, BRONZE_RETIRED_DAYS, SILVER_USER_ACTIVITY_DAILY
from eventlake.settings import Settings
from operations import maintenance
from orchestration.definitions import build_definitions
from orchestration.maintenance_job import MAINTENANCE_JOB, MaintenancePolicy

TODAY = date(2026, 11, 20)
RETIRED, CLOSED1, CLOSED2 = (
    TODAY - timedelta(days=10),
    TODAY - timedelta(days=2),
    TODAY - timedelta(days=1),
)
COMMITS = 6  # small files per day


def small_files(settings: Settings) -> None:
    """COMMITS commits, each adding one file to every day (the ingester's pattern)."""
    for i in range(COMMITS):
        rows = [login(f"e{i}-{d}", f"u{i}", noon(d)) for d in (RETIRED, CLOSED1, CLOSED2, TODAY)]
        append_bronze(settings, rows)
        activity = pl.DataFrame(
            {"day": [CLOSED1, TODAY], "user_id": [f"u{i}"] * 2, "events": [i, i],
             "first_event_time": [noon(CLOSED1), noon(TODAY)],
             "last_event_time": [noon(CLOSED1), noon(TODAY)]},
            schema=SILVER_USER_ACTIVITY_DAILY.schema,
        )  # fmt: skip
        lake.append(settings, SILVER_USER_ACTIVITY_DAILY, activity)


def read(settings: Settings, spec, version: int | None = None) -> pl.DataFrame:  # type: ignore[no-untyped-def]
    return lake.scan(settings, spec, version=version).collect().sort(pl.all())


def output_metadata(result: dg.ExecuteInProcessResult, op: str) -> dict:
    (event,) = [e for e in result.events_for_node(op) if e.event_type_value == "STEP_OUTPUT"]
    return {k: v.value for k, v in event.event_specific_data.metadata.items()}  # type: ignore[union-attr]


def test_the_job_retires_compacts_closed_days_checkpoints_and_keeps_time_travel(
    settings: Settings, instance: dg.DagsterInstance
) -> None:
    settings = dataclasses.replace(settings, bronze_retention_days=5)
    small_files(settings)
    bronze_before, silver_before = (
        read(settings, BRONZE_EVENTS),
        read(settings, SILVER_USER_ACTIVITY_DAILY),
    )
    version_before = lake.open_table(settings, BRONZE_EVENTS).version()  # type: ignore[union-attr]
    assert maintenance.files_per_day(settings, BRONZE_EVENTS) == dict.fromkeys(
        (RETIRED, CLOSED1, CLOSED2, TODAY), COMMITS
    )

    job = build_definitions(settings).resolve_job_def(MAINTENANCE_JOB)
    config = {"today": TODAY.isoformat()}
    result = job.execute_in_process(
        instance=instance,
        run_config={"ops": {"retire_bronze_days": {"config": config},
                            "compact_closed_days": {"config": {**config, "min_files": 4}}}},
    )  # fmt: skip
    assert result.success

    # closed days compacted to one file each, today's partition untouched, the old day retired
    assert maintenance.files_per_day(settings, BRONZE_EVENTS) == {
        CLOSED1: 1,
        CLOSED2: 1,
        TODAY: COMMITS,
    }
    assert maintenance.files_per_day(settings, SILVER_USER_ACTIVITY_DAILY) == {
        CLOSED1: 1,
        TODAY: COMMITS,
    }
    assert_frame_equal(
        read(settings, BRONZE_EVENTS), bronze_before.filter(pl.col("event_date") != RETIRED)
    )
    assert_frame_equal(read(settings, SILVER_USER_ACTIVITY_DAILY), silver_before)
    retired = lake.scan(settings, BRONZE_RETIRED_DAYS).collect()
    assert retired.select("day", "event_type", "rows", "aggregates").rows() == [
        (RETIRED, "login", COMMITS, COMMITS)
    ]

    assert output_metadata(result, "retire_bronze_days")["rows_retired"] == COMMITS
    compact = output_metadata(result, "compact_closed_days")
    # bronze: 3 days x 6 files -> 1 + 1 + 6; silver: 2 days x 6 files -> 1 + 6
    assert (compact["files_before"], compact["files_after"], compact["days_compacted"]) == (
        30,
        15,
        3,
    )
    checkpoints = output_metadata(result, "checkpoint_tables")["versions"]
    assert set(checkpoints) == {BRONZE_EVENTS.name, BRONZE_RETIRED_DAYS.name,
                                SILVER_USER_ACTIVITY_DAILY.name}  # fmt: skip
    log_dir = Path(lake.table_uri(settings, BRONZE_EVENTS)) / "_delta_log"
    assert (log_dir / f"{checkpoints[BRONZE_EVENTS.name]:020d}.checkpoint.parquet").exists()
    # the safe default retention (168 h) deletes nothing just replaced: time travel still works
    vacuum = output_metadata(result, "vacuum_tables")
    assert (vacuum["retention_hours"], vacuum["files_removed"], vacuum["bytes_removed"]) == (
        168,
        0,
        0,
    )
    assert_frame_equal(read(settings, BRONZE_EVENTS, version_before), bronze_before)


def test_the_nightly_schedule_and_the_policy_from_the_environment(
    settings: Settings, instance: dg.DagsterInstance
) -> None:
    defs = build_definitions(settings)
    schedule = defs.resolve_schedule_def("lake_maintenance_nightly")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("30 3 * * *", "UTC")
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    at = datetime(2026, 11, 20, 3, 30, tzinfo=UTC)
    with dg.build_schedule_context(instance=instance, scheduled_execution_time=at) as context:
        (request,) = schedule.evaluate_tick(context).run_requests
    assert request.run_key == f"{MAINTENANCE_JOB}:2026-11-20"
    instance.add_run(dg.DagsterRun(job_name=MAINTENANCE_JOB, status=dg.DagsterRunStatus.STARTED))
    with dg.build_schedule_context(instance=instance, scheduled_execution_time=at) as context:
        tick = schedule.evaluate_tick(context)
    assert not tick.run_requests and "still runs" in (tick.skip_message or "")

    env = {"EVENTLAKE_BRONZE_RETENTION_DAYS": "30"}
    bound = MaintenancePolicy.from_settings(Settings.from_env(env=env), env)
    assert bound.bronze_retention_days == dg.EnvVar("EVENTLAKE_BRONZE_RETENTION_DAYS")
    assert bound.vacuum_retention_hours == "168"  # not in env: a literal
    applied = MaintenancePolicy(bronze_retention_days="30", vacuum_retention_hours="200").apply(
        settings
    )
    assert (applied.bronze_retention_days, applied.vacuum_retention_hours) == (30, 200)
    assert applied.lake_root == settings.lake_root
    with pytest.raises(Exception, match="EVENTLAKE_VACUUM_RETENTION_HOURS"):
        MaintenancePolicy(vacuum_retention_hours="0").apply(settings)
