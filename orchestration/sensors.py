"""Sensors: new bronze commits become runs for exactly the days they touched, and every run
that rewrote silver days is followed by runs for the gold days that read them.

Late data: the ingester writes an event in the partition of its own day, and records that
day in the commit metadata, so a late event simply adds its (past) day to the touched days;
the `bronze_commits` sensor runs each contiguous range of touched days once per new bronze
version (the version is in the run key: a day that ran before runs again when it changes).
Windows: once such a run succeeds, `silver_followups` requests DAU-only runs for the 29 days
after its range and revenue-only runs for days sharing an order_id with it; it acts on runs
of any job that materialized silver (sensor runs, UI backfills, the nightly close of yesterday),
and its own runs rewrite no silver, so they end the chain.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg

from eventlake.catalog import BRONZE_EVENTS, BY_NAME, SILVER_EVENTS
from eventlake.lake import open_table
from eventlake.settings import Settings
from orchestration.bronze_log import BronzeCursor, plan_days, touched_since
from orchestration.followups import affected_days, materialized_days, plan_followups
from orchestration.jobs import asset_key
from orchestration.partitions import day_ranges, partition_span, range_tags
from orchestration.resources import LakeResource

BRONZE_SENSOR_INTERVAL_S = 15
FOLLOWUP_SENSOR_INTERVAL_S = 10  # one finished run with follow-ups is handled per tick
BRONZE_VERSION_TAG = "eventlake/bronze_version"
AFTER_RUN_TAG = "eventlake/after_run"


def evaluate_bronze_commits(
    settings: Settings,
    partitions_def: dg.DailyPartitionsDefinition,
    cursor: str | None,
    now: datetime,
) -> dg.SensorResult | dg.SkipReason:
    """Returns the runs for the days bronze commits after the cursor touched, and the new cursor.

    One run per contiguous range of touched days that are partitions at `now`; touched days
    after the last partition stay pending in the cursor until they are partitions.
    """
    table = open_table(settings, BRONZE_EVENTS)
    if table is None:
        return dg.SkipReason(f"no {BRONZE_EVENTS.name} table yet")
    previous = BronzeCursor.from_json(cursor)
    touched = touched_since(table, previous.version if previous else None)
    pending = previous.pending if previous else ()
    if previous and touched.version == previous.version and not pending:
        return dg.SkipReason(f"no new {BRONZE_EVENTS.name} commits after version {touched.version}")
    first = partitions_def.start.date()
    span = partition_span(partitions_def, now)
    last = span[1] if span else first - timedelta(days=1)  # no partition yet: all pending
    due, later = plan_days(touched.days, pending, first, last)
    mode = "all" if touched.everything else "new"
    requests = [
        dg.RunRequest(
            run_key=f"{BRONZE_EVENTS.name}@{touched.version}:{mode}:{a}..{b}",
            tags={**range_tags(a, b), BRONZE_VERSION_TAG: str(touched.version)},
        )
        for a, b in day_ranges(due)
    ]
    new_cursor = BronzeCursor(touched.version, later).to_json()
    if not requests:
        return dg.SensorResult(
            cursor=new_cursor,
            skip_reason=f"version {touched.version}: no day partitions to run "
            f"({len(later)} pending)",
        )
    return dg.SensorResult(run_requests=requests, cursor=new_cursor)


def bronze_commits_sensor(
    partitions_def: dg.DailyPartitionsDefinition, job: dg.UnresolvedAssetJobDefinition
) -> dg.SensorDefinition:
    """Returns the sensor that turns new bronze/events commits into runs of `job`."""

    @dg.sensor(
        name="bronze_commits",
        job=job,
        minimum_interval_seconds=BRONZE_SENSOR_INTERVAL_S,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Runs silver and gold for exactly the event days new bronze/events commits "
        "touched (late days included), one run per contiguous range of days.",
    )
    def bronze_commits(
        context: dg.SensorEvaluationContext, lake: LakeResource
    ) -> dg.SensorResult | dg.SkipReason:
        return evaluate_bronze_commits(
            lake.settings(), partitions_def, context.cursor, datetime.now(UTC)
        )

    return bronze_commits


def followup_requests(
    instance: dg.DagsterInstance,
    run_id: str,
    settings: Settings,
    partitions_def: dg.DailyPartitionsDefinition,
    job_name: str,
    now: datetime,
) -> list[dg.RunRequest]:
    """Returns the runs for the gold days outside run `run_id` that read the silver days it wrote."""
    materialized = materialized_days(instance, run_id)
    silver_days = materialized.get(asset_key(SILVER_EVENTS))
    span = partition_span(partitions_def, now)
    if not silver_days or span is None:
        return []
    plan = plan_followups(materialized, affected_days(settings, silver_days), *span)
    return [
        dg.RunRequest(
            run_key=f"followup:{run_id}:{name}:{a}..{b}",
            job_name=job_name,
            asset_selection=[asset_key(BY_NAME[name])],
            tags={**range_tags(a, b), AFTER_RUN_TAG: run_id},
        )
        for name, ranges in plan.items()
        for a, b in ranges
    ]


def silver_followups_sensor(
    partitions_def: dg.DailyPartitionsDefinition, job: dg.UnresolvedAssetJobDefinition
) -> dg.RunStatusSensorDefinition:
    """Returns the sensor that follows each successful run that rewrote silver days."""

    @dg.run_status_sensor(
        run_status=dg.DagsterRunStatus.SUCCESS,
        name="silver_followups",
        request_job=job,
        minimum_interval_seconds=FOLLOWUP_SENSOR_INTERVAL_S,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="After a run rewrote silver days, rewrites the gold days outside it that "
        "read them: DAU/WAU/MAU of the 29 days after, revenue of days sharing an order_id.",
    )
    def silver_followups(
        context: dg.RunStatusSensorContext, lake: LakeResource
    ) -> list[dg.RunRequest] | None:
        requests = followup_requests(
            context.instance,
            context.dagster_run.run_id,
            lake.settings(),
            partitions_def,
            job.name,
            datetime.now(UTC),
        )
        # None (not a SkipReason) lets the sensor go on to the next finished run in this tick.
        return requests or None

    return silver_followups
