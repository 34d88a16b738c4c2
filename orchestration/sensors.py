"""Sensors: new bronze commits become runs for exactly the days they touched, and every run
that rewrote silver days is followed by runs for the gold days that read them.

Late data: the ingester writes an event in the partition of its own day, and records that
day in the commit metadata, so a late event simply adds its (past) day to the touched days;
the `bronze_commits` sensor runs each contiguous range of touched days once per new bronze
version (the version is in the run key: a day that ran before runs again when it changes).
Windows: the partitions outside a run whose fixed windows include its days (the 29 days of
WAU/MAU after a day, the funnel of the day before, ...) and the unpartitioned tables follow by
automation (`automation_conditions`). Dependencies that move with the data follow by
`silver_followups`: after any run (sensor runs, automation runs, UI backfills, the nightly
close) that rewrote silver/orders or silver/user_activity_daily days, it requests runs for the
days sharing an order_id with them and for the next active day of users who became new; its
own runs rewrite no silver, so they end the chain.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import dagster as dg

from assets.restatements import CAUSE_TAG
from eventlake import retention
from eventlake.catalog import BRONZE_EVENTS, BY_NAME, SILVER_ORDERS, SILVER_USER_ACTIVITY_DAILY
from eventlake.lake import open_table
from eventlake.settings import Settings
from orchestration.bronze_log import BronzeCursor, Touched, plan_days, touched_since
from orchestration.followups import affected_days, materialized_days, plan_followups
from orchestration.jobs import asset_key
from orchestration.partitions import day_ranges, partition_span, range_tags
from orchestration.resources import LakeResource

BRONZE_SENSOR_INTERVAL_S = 15
AUTOMATION_INTERVAL_S = 15
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
    kept = retention.horizon(settings, now.date())
    if kept is not None and kept > first:  # retired days: their log is gone, never rebuild them
        first = kept
    span = partition_span(partitions_def, now)
    last = span[1] if span else first - timedelta(days=1)  # no partition yet: all pending
    due, later = plan_days(touched.days, pending, first, last)
    mode = "all" if touched.everything else "new"
    requests = [
        dg.RunRequest(
            run_key=f"{BRONZE_EVENTS.name}@{touched.version}:{mode}:{a}..{b}",
            tags={
                **range_tags(a, b),
                BRONZE_VERSION_TAG: str(touched.version),
                **_cause_tags(a, b, due, touched),
            },
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


def _cause_tags(first: date, last: date, due: list[date], touched: Touched) -> dict[str, str]:
    """Returns the cause tag of the run for days [first, last]: "replay" when dead-letter
    replays alone touched its days (read models then restate for that reason)."""
    days = {d for d in due if first <= d <= last}
    return {CAUSE_TAG: "replay"} if days and days <= touched.replay_days else {}


def bronze_commits_sensor(
    partitions_def: dg.DailyPartitionsDefinition,
    job: dg.UnresolvedAssetJobDefinition,
    retention_days: int | None = None,
) -> dg.SensorDefinition:
    """Returns the sensor that turns new bronze/events commits into runs of `job`.

    Args:
        retention_days: the bronze retention policy (EVENTLAKE_BRONZE_RETENTION_DAYS): days it
            retired are never run again, whatever lands in them.
    """

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
        settings = replace(lake.settings(), bronze_retention_days=retention_days)
        return evaluate_bronze_commits(settings, partitions_def, context.cursor, datetime.now(UTC))

    return bronze_commits


def followup_requests(
    instance: dg.DagsterInstance,
    run_id: str,
    settings: Settings,
    partitions_def: dg.DailyPartitionsDefinition,
    job_name: str,
    now: datetime,
) -> list[dg.RunRequest]:
    """Returns the runs for the gold days outside run `run_id` that depend on the silver days it
    wrote through the data (shared order ids, new users' next active day)."""
    materialized = materialized_days(instance, run_id)
    order_days = materialized.get(asset_key(SILVER_ORDERS), set())
    activity_days = materialized.get(asset_key(SILVER_USER_ACTIVITY_DAILY), set())
    span = partition_span(partitions_def, now)
    if not (order_days or activity_days) or span is None:
        return []
    reading = affected_days(settings, order_days, activity_days)
    plan = plan_followups(materialized, reading, *span)
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
    """Returns the sensor that follows each successful run that rewrote silver orders or
    activity days."""

    @dg.run_status_sensor(
        run_status=dg.DagsterRunStatus.SUCCESS,
        name="silver_followups",
        request_job=job,
        minimum_interval_seconds=FOLLOWUP_SENSOR_INTERVAL_S,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="After a run rewrote silver orders or activity days, rewrites the gold days "
        "outside it that depend on them through the data: days sharing an order_id (revenue, "
        "products, funnel), the next active day of users who became new (lifecycle).",
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


def automation_sensor() -> dg.AutomationConditionSensorDefinition:
    """Returns the sensor that evaluates every asset's automation condition, running by default.

    Dagster's default automation sensor ships stopped; this one runs every 15 s and launches
    a multi-partition request as a backfill, so a single-run policy makes one run per range.
    """
    return dg.AutomationConditionSensorDefinition(
        "automation_conditions",
        target=dg.AssetSelection.all(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=AUTOMATION_INTERVAL_S,
        description="Windows and whole tables: requests every partition whose dependency "
        "partitions (through the partition mappings) changed since it was last materialized.",
    )
