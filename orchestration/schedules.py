"""Schedules: every night, the day that just ended is rebuilt once it is complete.

`nightly_schedule` is how every schedule is made (this one, maintenance's, reconciliation's):
in UTC, running from the start."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import dagster as dg

from orchestration.coalesce import lane_tags
from orchestration.partitions import range_tags

CLOSE_DAY_CRON = "30 0 * * *"  # 00:30 UTC: yesterday is complete (bar events more than 30 min late)


def close_day_schedule(
    partitions_def: dg.DailyPartitionsDefinition, job: dg.UnresolvedAssetJobDefinition
) -> dg.ScheduleDefinition:
    """Returns the schedule that rebuilds yesterday (UTC) with `job` every night.

    The sensors only run days that received events; this gives every closed day (even a
    quiet one) its final figures once, and its success triggers the usual follow-ups.
    """

    def close_yesterday(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        yesterday = (context.scheduled_execution_time - timedelta(days=1)).date()
        if yesterday < partitions_def.start.date():
            return dg.SkipReason(f"{yesterday} is before the first partition")
        today = context.scheduled_execution_time.date()
        return dg.RunRequest(
            run_key=f"close-day:{yesterday.isoformat()}",
            tags={**range_tags(yesterday, yesterday), **lane_tags(yesterday, yesterday, today)},
        )

    return nightly_schedule(
        "close_yesterday",
        CLOSE_DAY_CRON,
        job,
        "Rebuilds silver and gold for yesterday (UTC) once it is over.",
        close_yesterday,
    )


def nightly_schedule(
    name: str,
    cron: str,
    job: dg.JobDefinition | dg.UnresolvedAssetJobDefinition,
    description: str,
    evaluate: Callable[[dg.ScheduleEvaluationContext], dg.RunRequest | dg.SkipReason] | None = None,
) -> dg.ScheduleDefinition:
    """Returns the schedule `name` of `job` at `cron` in UTC, running from the start; `evaluate`
    decides each tick's run (None: one run a tick)."""
    return dg.ScheduleDefinition(
        name=name,
        cron_schedule=cron,
        job=job,
        execution_fn=evaluate,
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=description,
    )
