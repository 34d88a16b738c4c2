"""Sensors: new bronze commits become runs for exactly the days they touched, and every run is
followed by runs for the partitions outside it that read what it wrote.

Late data: the ingester writes an event in the partition of its own day, and records that
day in the commit metadata, so a late event simply adds its (past) day to the touched days;
the `bronze_commits` sensor runs the touched days (the version is in the run key: a day that
ran before runs again when it changes). After any successful run (sensor
runs, UI backfills, the nightly close), `follow_ups` requests the windows and data-dependent
days outside it (orchestration/followups.py) and the unpartitioned tables. Both drop what a
run still waiting in the queue will do (orchestration/coalesce.py): the queue stays bounded
by the days touched, not by the number of commits.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import dagster as dg

from assets.restatements import CAUSE_TAG
from assets.silver import INCREMENTAL_TAG
from eventlake.catalog import BRONZE_EVENTS, TableSpec
from eventlake.lake import open_table
from eventlake.settings import Settings
from operations import log_retention
from orchestration.bronze_log import BronzeCursor, Touched, plan_days, touched_since
from orchestration.coalesce import (
    WaitingRun,
    absorb,
    cancel_superseded,
    lane_tags,
    uncovered,
    waiting_runs,
)
from orchestration.followups import Lineage, materialized, needed_days, whole_followups
from orchestration.jobs import (
    DAY_TABLES,
    FOLLOWUP_JOB,
    FOLLOWUP_TABLES,
    INGESTED_DAYS_JOB,
    WHOLE_TABLES,
    WHOLE_TABLES_JOB,
    asset_key,
)
from orchestration.partitions import partition_span, range_tags
from orchestration.resources import LakeResource

BRONZE_SENSOR_INTERVAL_S = 5  # a tick reads only the new commit entries of the Delta log
FOLLOWUP_SENSOR_INTERVAL_S = 5
BRONZE_VERSION_TAG = "eventlake/bronze_version"
AFTER_RUN_TAG = "eventlake/after_run"


def evaluate_bronze_commits(
    settings: Settings,
    partitions_def: dg.DailyPartitionsDefinition,
    cursor: str | None,
    now: datetime,
    waiting: list[WaitingRun] | None = None,
) -> dg.SensorResult | dg.SkipReason:
    """Returns the runs for the days bronze commits after the cursor touched, and the new cursor.

    One run over the touched days that are partitions at `now` and that no waiting run of every
    day table (`waiting`) covers, its range widened to all the waiting runs' days (it
    supersedes them, orchestration/coalesce.py); touched days after the last partition stay
    pending in the cursor until they are partitions.
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
    kept = log_retention.horizon(settings, now.date())
    if kept is not None and kept > first:  # retired days: their log is gone, never rebuild them
        first = kept
    span = partition_span(partitions_def, now)
    last = span[1] if span else first - timedelta(days=1)  # no partition yet: all pending
    due, later = plan_days(touched.days, pending, first, last)
    waiting = waiting or []
    keys = _keys(DAY_TABLES)
    todo = uncovered(waiting, keys, due)
    new_cursor = BronzeCursor(touched.version, later).to_json()
    if not todo:
        return dg.SensorResult(
            cursor=new_cursor,
            skip_reason=f"version {touched.version}: no day partitions to run "
            f"({len(due)} covered by waiting runs, {len(later)} pending)",
        )
    a, b, _ = absorb(waiting, INGESTED_DAYS_JOB, min(todo), max(todo))
    mode = "all" if touched.everything else "new"
    request = dg.RunRequest(
        run_key=f"{BRONZE_EVENTS.name}@{touched.version}:{mode}:{a}..{b}",
        tags={
            **range_tags(a, b),
            **lane_tags(a, b, now.astimezone(UTC).date()),
            BRONZE_VERSION_TAG: str(touched.version),
            INCREMENTAL_TAG: "1",
            **_cause_tags(a, b, due, touched),
        },
    )
    return dg.SensorResult(run_requests=[request], cursor=new_cursor)


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
        "touched (late days included): one run a tick at most, over the days no waiting run covers.",
    )
    def bronze_commits(
        context: dg.SensorEvaluationContext, lake: LakeResource
    ) -> dg.SensorResult | dg.SkipReason:
        settings = replace(lake.settings(), bronze_retention_days=retention_days)
        waiting = waiting_runs(context.instance, loop_jobs())
        for run_id in cancel_superseded(context.instance, waiting):
            context.log.info(f"cancelled waiting run {run_id}: a newer waiting run covers it")
        return evaluate_bronze_commits(
            settings, partitions_def, context.cursor, datetime.now(UTC), waiting
        )

    return bronze_commits


def followup_requests(
    instance: dg.DagsterInstance,
    run_id: str,
    settings: Settings,
    partitions_def: dg.DailyPartitionsDefinition,
    lineage: Lineage,
    now: datetime,
) -> list[dg.RunRequest]:
    """Returns the runs that rewrite what reads run `run_id`'s partitions outside it: one
    `follow_ups` run over their days (superseding the job's waiting runs) and one
    `whole_tables` run; what a waiting run already covers is left out (and waiting runs that
    a newer one covers are cancelled)."""
    written, whole_written = materialized(instance, run_id)
    span = partition_span(partitions_def, now)
    if not written or span is None:
        return []
    waiting = waiting_runs(instance, loop_jobs())
    cancel_superseded(instance, waiting)
    needed = {
        key: todo
        for key, days in needed_days(settings, lineage, written, *span).items()
        if (todo := uncovered(waiting, [key], days))
    }
    requests = []
    if needed:
        every = set().union(*needed.values())
        a, b, more = absorb(waiting, FOLLOWUP_JOB, min(every), max(every))
        selection = sorted(needed.keys() | more, key=lambda k: k.to_user_string())
        requests.append(
            dg.RunRequest(
                run_key=f"followup:{run_id}:{a}..{b}",
                job_name=FOLLOWUP_JOB,
                asset_selection=selection,
                # a selection brings every check of its assets, the nightly reconciliation's too
                asset_check_keys=sorted(
                    (c for k in selection for c in lineage.checks.get(k, ())), key=str
                ),
                tags={**range_tags(a, b), **lane_tags(a, b, span[1]), AFTER_RUN_TAG: run_id},
            )
        )
    whole = _keys(WHOLE_TABLES)
    if whole_followups(lineage, written, whole_written) and not any(
        r.covers(whole) for r in waiting
    ):
        requests.append(
            dg.RunRequest(
                run_key=f"whole:{run_id}",
                job_name=WHOLE_TABLES_JOB,
                tags={**lane_tags(None, None, span[1]), AFTER_RUN_TAG: run_id},
            )
        )
    return requests


def followups_sensor(
    partitions_def: dg.DailyPartitionsDefinition,
    lineage: Lineage,
    jobs: list[dg.UnresolvedAssetJobDefinition],
) -> dg.RunStatusSensorDefinition:
    """Returns the sensor that follows each successful run with the runs its writes call for."""

    @dg.run_status_sensor(
        run_status=dg.DagsterRunStatus.SUCCESS,
        name="follow_ups",
        request_jobs=jobs,
        minimum_interval_seconds=FOLLOWUP_SENSOR_INTERVAL_S,
        # runs executed in-process (`eventlake materialize`, reconciliation's healing) have no
        # code location: without this, the daemon would not follow them
        monitor_all_code_locations=True,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="After a run, rewrites the partitions outside it that read the days it "
        "rewrote: the windows that include them (WAU/MAU, sessions, funnel, lifecycle), days "
        "sharing an order_id, the next active day of users who became new, and the "
        "unpartitioned tables. Nothing a waiting run will do is requested twice.",
    )
    def follow_ups(
        context: dg.RunStatusSensorContext, lake: LakeResource
    ) -> list[dg.RunRequest] | None:
        requests = followup_requests(
            context.instance,
            context.dagster_run.run_id,
            lake.settings(),
            partitions_def,
            lineage,
            datetime.now(UTC),
        )
        # None (not a SkipReason) lets the sensor go on to the next finished run in this tick.
        return requests or None

    return follow_ups


def loop_jobs() -> dict[str, frozenset[dg.AssetKey]]:
    """Returns the jobs the sensors launch, with the assets a run of each selects by default."""
    return {
        INGESTED_DAYS_JOB: _keys(DAY_TABLES),
        FOLLOWUP_JOB: _keys(FOLLOWUP_TABLES),
        WHOLE_TABLES_JOB: _keys(WHOLE_TABLES),
    }


def _keys(tables: tuple[TableSpec, ...]) -> frozenset[dg.AssetKey]:
    return frozenset(asset_key(t) for t in tables)
