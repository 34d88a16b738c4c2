"""The reconciliation in Dagster: the `reconciliation` job runs the gold and log checks for
real, heals, and writes its report under the run's id; runs that materialize gold skip it."""

from __future__ import annotations

import dagster as dg
import polars as pl
from bronze_log_rows import append_bronze, noon, order
from test_reconcile import ago, build_lake, corrupt_revenue, reported

from eventlake.catalog import BRONZE_EVENTS, GOLD_REVENUE_DAILY, GOLD_TABLES
from eventlake.settings import Settings
from orchestration.definitions import build_definitions
from orchestration.jobs import INGESTED_DAYS_JOB
from orchestration.reconcile_checks import (
    EVENT_IDS_CONSISTENT,
    MATCHES_LOG_REBUILD,
    OFFSETS_MATCH_RECORD,
    RECONCILE_JOB,
)


def evaluations(
    result: dg.ExecuteInProcessResult,
) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    return {
        (e.asset_key.to_user_string(), e.check_name): e
        for e in result.get_asset_check_evaluations()
    }


def test_the_job_reconciles_heals_and_audits(
    settings: Settings, instance: dg.DagsterInstance
) -> None:
    build_lake(settings, instance)
    corrupt_revenue(settings, ago(1), 123.0)
    defs = build_definitions(settings)

    result = defs.resolve_job_def(RECONCILE_JOB).execute_in_process(instance=instance)

    found = evaluations(result)
    gold = {(t.name, MATCHES_LOG_REBUILD) for t in GOLD_TABLES}
    assert gold <= set(found)
    assert all(found[key].passed for key in gold)  # the one drift was healed
    revenue = found[(GOLD_REVENUE_DAILY.name, MATCHES_LOG_REBUILD)].metadata
    assert revenue["drifted"].value == revenue["healed"].value == str(ago(1))
    assert revenue["mismatches"].value == 1
    assert found[(BRONZE_EVENTS.name, EVENT_IDS_CONSISTENT)].passed
    # The test helpers write bronze without the ingester's offsets of record: the audit says so.
    assert not found[(BRONZE_EVENTS.name, OFFSETS_MATCH_RECORD)].passed

    report = reported(settings)
    assert report.get_column("run_id").unique().to_list() == [result.run_id]
    assert report.filter(pl.col("mismatches") > 0).select("day", "healed").rows() == [
        (ago(1), True)
    ]

    (schedule,) = [s for s in defs.schedules if s.name == "reconcile_nightly"]
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 2 * * *", "UTC")
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert schedule.job_name == RECONCILE_JOB


def test_runs_that_materialize_gold_skip_the_reconciliation(
    settings: Settings, instance: dg.DagsterInstance
) -> None:
    append_bronze(settings, [order("o1", "u1", "A", 10.0, "EUR", noon(ago(1)))])
    job = build_definitions(settings).resolve_job_def(INGESTED_DAYS_JOB)

    result = job.execute_in_process(instance=instance, partition_key=str(ago(1)))

    # The day's job leaves the reconciliation's checks out of its selection.
    steps = {e.step_key for e in result.get_step_success_events()}
    assert "reconcile_gold_with_log" not in steps and "gold__revenue_daily" in steps
    assert MATCHES_LOG_REBUILD not in {check for _, check in evaluations(result)}
    assert reported(settings).is_empty()
