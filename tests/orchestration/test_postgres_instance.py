"""deploy/dagster/dagster.yaml against a real PostgreSQL server: the definitions' runs and
materializations are stored in PostgreSQL, and the queue, retry and monitoring settings load.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import dagster as dg
import pytest
from bronze_log_rows import append_bronze, login, noon, order
from postgres_server import PostgresServer, PostgresUnavailable, running

from eventlake import lake
from eventlake.catalog import GOLD_REVENUE_DAILY
from eventlake.settings import Settings
from orchestration.definitions import build_definitions
from orchestration.jobs import DAY_TABLES, INGESTED_DAYS_JOB, asset_key
from orchestration.partitions import daily_partitions, range_tags

INSTANCE_YAML = Path(__file__).resolve().parents[2] / "deploy" / "dagster" / "dagster.yaml"
REVENUE = dg.AssetKey(["gold", "revenue_daily"])
DAY1, DAY2 = date(2024, 3, 1), date(2024, 3, 2)


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    """One server for the module (each test gets its own database); fails, never skips,
    when PostgreSQL is missing (`make test` installs it)."""
    server_cm = running()
    try:
        server = server_cm.__enter__()
    except PostgresUnavailable as err:
        message = f"PostgreSQL test server unavailable: {err}"
    else:
        try:
            yield server
        finally:
            server_cm.__exit__(None, None, None)
        return
    pytest.fail(message, pytrace=False)  # outside `except`: one message, no chained traceback


@pytest.fixture
def pg_home(
    request: pytest.FixtureRequest,
    postgres: PostgresServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, str]:
    """DAGSTER_HOME holding deploy/dagster/dagster.yaml as is, its DAGSTER_PG_* variables
    naming a fresh database owned by a non-superuser role; returns those variables."""
    db = f"dagster_{request.node.name.removeprefix('test_')[:40]}"
    env = {
        "DAGSTER_PG_HOST": postgres.host,
        "DAGSTER_PG_PORT": str(postgres.port),
        "DAGSTER_PG_USER": db,  # one role per database: it owns it and nothing more
        "DAGSTER_PG_PASSWORD": "s3cret-for-" + db,
        "DAGSTER_PG_DB": db,
    }
    postgres.create_database(db, owner=env["DAGSTER_PG_USER"], password=env["DAGSTER_PG_PASSWORD"])
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(INSTANCE_YAML, home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def query(server: PostgresServer, env: dict[str, str], text: str, *args: object) -> list[tuple]:
    """Returns the rows of one query, run as the Dagster role in its database."""
    conn = server.connect(env["DAGSTER_PG_DB"], env["DAGSTER_PG_USER"], env["DAGSTER_PG_PASSWORD"])
    try:
        with conn.cursor() as cur:
            cur.execute(text, args)
            return list(cur.fetchall())
    finally:
        conn.close()


def test_definitions_run_on_postgres_storage(
    settings: Settings, postgres: PostgresServer, pg_home: dict[str, str]
) -> None:
    settings = replace(settings, start_date=DAY1)
    append_bronze(
        settings,
        [
            login("a", "u1", noon(DAY1)),
            order("b", "u1", "o1", 12.5, "EUR", noon(DAY1)),
            order("c", "u2", "o2", 7.0, "EUR", noon(DAY2)),
        ],
    )
    job = build_definitions(settings).resolve_job_def(INGESTED_DAYS_JOB)
    with dg.DagsterInstance.get() as instance:
        # select the day tables, as `eventlake materialize` does: the reconciliation check in
        # the job then skips its rebuild from the log (it runs in runs of checks only)
        result = job.execute_in_process(
            instance=instance,
            tags=range_tags(DAY1, DAY2),
            asset_selection=[asset_key(t) for t in DAY_TABLES],
        )
    assert result.success

    # PostgreSQL itself holds the run and one materialization of gold/revenue_daily per day
    assert query(postgres, pg_home, "SELECT status FROM runs WHERE run_id = %s", result.run_id) == [
        ("SUCCESS",)
    ]
    partitions = query(
        postgres,
        pg_home,
        "SELECT partition FROM event_logs WHERE run_id = %s "
        "AND dagster_event_type = 'ASSET_MATERIALIZATION' AND asset_key = %s ORDER BY partition",
        result.run_id,
        REVENUE.to_string(),
    )
    assert partitions == [(DAY1.isoformat(),), (DAY2.isoformat(),)]
    stored = query(
        postgres,
        pg_home,
        "SELECT DISTINCT asset_key FROM event_logs "
        "WHERE run_id = %s AND dagster_event_type = 'ASSET_MATERIALIZATION'",
        result.run_id,
    )
    assert {key for (key,) in stored} == {asset_key(t).to_string() for t in DAY_TABLES}
    assert not list(Path(os.environ["DAGSTER_HOME"]).rglob("*.db"))  # nothing went to SQLite

    # a new instance (another process, in production) reads them back from PostgreSQL
    with dg.DagsterInstance.get() as fresh:
        run = fresh.get_run_by_id(result.run_id)
        assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
        latest = fresh.get_latest_materialization_event(REVENUE)
        assert latest is not None and latest.run_id == result.run_id
        assert latest.asset_materialization is not None
        assert latest.asset_materialization.partition in {DAY1.isoformat(), DAY2.isoformat()}
        status = fresh.get_status_by_partition(
            REVENUE, [DAY1.isoformat(), DAY2.isoformat()], daily_partitions(settings)
        )
        assert status == {
            DAY1.isoformat(): dg.AssetPartitionStatus.MATERIALIZED,
            DAY2.isoformat(): dg.AssetPartitionStatus.MATERIALIZED,
        }
    revenue = lake.scan(settings, GOLD_REVENUE_DAILY).sort("day").collect()
    assert revenue.select("day", "revenue").rows() == [(DAY1, 12.5), (DAY2, 7.0)]


def test_queue_retry_and_monitoring_settings_load(
    settings: Settings, pg_home: dict[str, str]
) -> None:
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.run_coordinator, dg.QueuedRunCoordinator)
        queue = instance.get_concurrency_config().run_queue_config  # what the daemon applies
        assert queue is not None
        assert queue.max_concurrent_runs == 8
        assert queue.max_user_code_failure_retries == 3
        limits = {(t["key"], str(t.get("value"))): t["limit"] for t in queue.tag_concurrency_limits}
        per_value = str({"applyLimitPerUniqueValue": True})
        assert limits == {
            ("eventlake/lane.today", "None"): 1,
            ("eventlake/lane.past", "None"): 1,
            ("eventlake/lane.whole", "None"): 1,
            ("dagster/schedule_name", "close_yesterday"): 1,
            ("dagster/schedule_name", "lake_maintenance_nightly"): 1,
            ("dagster/schedule_name", "reconcile_nightly"): 1,
            ("dagster/backfill", per_value): 4,
            ("dagster/partition", per_value): 1,
            ("dagster/asset_partition_range_start", per_value): 1,
        }
        assert instance.run_retries_enabled
        assert instance.run_retries_max_retries == 2
        assert instance.run_retries_retry_on_asset_or_op_failure
        assert instance.run_monitoring_enabled
        assert instance.run_monitoring_max_runtime_seconds == 14400
        assert instance.run_monitoring_max_resume_run_attempts == 0
        assert not instance.telemetry_enabled

    # a limit on a sensor or schedule that was renamed would silently stop applying
    defs = build_definitions(settings)
    named = {
        "dagster/sensor_name": {s.name for s in defs.sensors or ()},
        "dagster/schedule_name": {s.name for s in defs.schedules or ()},
    }
    for limit in queue.tag_concurrency_limits:
        if limit["key"] in named:
            assert limit["value"] in named[limit["key"]], limit
