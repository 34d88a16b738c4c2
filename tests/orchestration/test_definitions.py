"""The Dagster definitions load, and hold the assets, lineage, jobs and automation we expect."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from eventlake.catalog import TABLES
from eventlake.settings import Settings
from orchestration.definitions import build_definitions
from orchestration.resources import LakeResource

ROOT = Path(__file__).resolve().parents[2]
SILVER = dg.AssetKey(["silver", "events"])
DAU = dg.AssetKey(["gold", "daily_active_users"])
REVENUE = dg.AssetKey(["gold", "revenue_daily"])
BRONZE = dg.AssetKey(["bronze", "events"])


def key(name: str) -> dg.AssetKey:
    return dg.AssetKey(name.split("/"))


# (downstream, upstream) -> (start_offset, end_offset) of the day window it reads
WINDOWS = {
    ("gold/daily_active_users", "silver/user_activity_daily"): (-29, 0),
    ("silver/sessions", "silver/events"): (-1, 1),
    ("gold/funnel_daily", "silver/product_events"): (0, 1),
    ("gold/funnel_daily", "silver/orders"): (0, 1),
    ("gold/lifecycle_daily", "silver/user_activity_daily"): (-1, 0),
}
WHOLE = {"silver/users", "gold/cohort_retention", "gold/customer_rfm"}


def test_definitions_are_loadable_with_lineage_and_windows(settings: Settings) -> None:
    defs = build_definitions(settings)
    dg.Definitions.validate_loadable(defs)

    graph = defs.resolve_asset_graph()
    names = {k.to_user_string() for k in graph.get_all_asset_keys()}
    read_models = {t.name for t in TABLES if t.layer in ("silver", "gold", "dim")}
    assert names == read_models | {"bronze/events"}
    assert graph.get(SILVER).parent_keys == {BRONZE}
    assert graph.get(DAU).parent_keys == {key("silver/user_activity_daily")}
    for (down, up), (start, end) in WINDOWS.items():
        window = graph.get_partition_mapping(key(down), key(up))
        assert isinstance(window, dg.TimeWindowPartitionMapping), (down, up)
        assert (window.start_offset, window.end_offset) == (start, end), (down, up)
    for name in names - {"bronze/events", "dim/products"}:
        node = graph.get(key(name))
        if name in WHOLE:
            assert node.partitions_def is None
        else:
            assert node.partitions_def.start.date() == settings.start_date
            assert node.backfill_policy == dg.BackfillPolicy.single_run()
        assert node.automation_condition is None, name  # the two sensors drive every asset

    sensors = {s.name: s for s in defs.sensors}
    assert set(sensors) == {"bronze_commits", "follow_ups"}
    assert all(s.default_status == dg.DefaultSensorStatus.RUNNING for s in sensors.values())
    assert sensors["bronze_commits"].minimum_interval_seconds == 5
    for job in ("ingested_days", "follow_ups", "whole_tables"):  # steps share the run's process
        assert defs.resolve_job_def(job).executor_def.name == "in_process", job
        # a retry reads the log again in every step, silver included
        assert defs.resolve_job_def(job).tags["dagster/retry_strategy"] == "ALL_STEPS", job
    assert all(s.default_status == dg.DefaultScheduleStatus.RUNNING for s in defs.schedules)
    assert {"close_yesterday", "lake_maintenance_nightly"} <= {s.name for s in defs.schedules}
    blocking = {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys
                if graph.get_check_spec(c).blocking}  # fmt: skip
    assert blocking == {("silver/events", "unique_event_id"),
                        ("silver/events", "count_matches_bronze")}  # fmt: skip


def test_lake_resource_binds_environment_values_as_env_vars(settings: Settings) -> None:
    literal = LakeResource.from_settings(settings)
    assert literal.settings().lake_root == settings.lake_root

    env = {"EVENTLAKE_LAKE_ROOT": settings.lake_root}
    bound = LakeResource.from_settings(settings, env)
    assert bound.lake_root == dg.EnvVar("EVENTLAKE_LAKE_ROOT")
    assert bound.storage_options == "{}"  # not in env: a literal


def test_entry_module_builds_defs_from_the_environment(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVENTLAKE_LAKE_ROOT", settings.lake_root)
    monkeypatch.setenv("EVENTLAKE_START_DATE", "2025-02-03")
    module = importlib.reload(importlib.import_module("orchestration.definitions"))
    dg.Definitions.validate_loadable(module.defs)
    silver = module.defs.resolve_asset_graph().get(SILVER)
    assert silver.partitions_def.get_first_partition_key() == "2025-02-03"


def test_workspace_yaml_loads_with_the_dagster_cli(tmp_path: Path, settings: Settings) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVENTLAKE_", "DAGSTER_"))}
    env |= {"EVENTLAKE_LAKE_ROOT": settings.lake_root, "DAGSTER_HOME": str(tmp_path)}
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "dagster"),
            "definitions",
            "validate",
            "-w",
            "workspace.yaml",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "All code locations passed validation" in done.stderr + done.stdout


def test_close_yesterday_rebuilds_yesterday(settings: Settings) -> None:
    schedule = build_definitions(settings).resolve_schedule_def("close_yesterday")
    at = datetime(2025, 3, 2, 0, 30, tzinfo=UTC)
    with dg.build_schedule_context(scheduled_execution_time=at) as context:
        (request,) = schedule.evaluate_tick(context).run_requests
    assert request.tags["dagster/asset_partition_range_start"] == "2025-03-01"
    assert request.tags["dagster/asset_partition_range_end"] == "2025-03-01"

    before_start = datetime(2024, 1, 1, 0, 30, tzinfo=UTC)
    with dg.build_schedule_context(scheduled_execution_time=before_start) as context:
        assert not schedule.evaluate_tick(context).run_requests
