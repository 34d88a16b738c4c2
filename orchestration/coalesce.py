"""The rule that keeps the run queue flat: each job has at most one run waiting, and new work
joins it instead of queueing beside it.

A run reads the lake when its steps start, not when it was requested, so a run still waiting
(QUEUED or NOT_STARTED) will see every commit made before it starts. The sensors therefore:

1. drop every (asset, day) that a waiting run of the job covers: requesting it again would
   add a run and no freshness;
2. fold the rest into one new run that also covers everything the job's waiting runs cover
   (`absorb`): its day range spans both, its assets are the union;
3. cancel a waiting run once a newer waiting run covers all of it (`cancel_superseded`). It is
   never cancelled before its successor exists, so no day is ever left without a run.

A run that has started may already have read the log, so it covers nothing. The queue then
holds at most a couple of waiting runs per job, however many commits, late days or runs
arrive (docs/architecture.md, "The loop").

Lanes: the runs the sensors launch carry one tag per lane they write in (`lane_tags`): today,
the past days, the unpartitioned tables. The run queue runs one run at a time per lane, so
two runs that write the same partition never overlap (the older could commit last), while a
run for today and one for yesterday run side by side.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

import dagster as dg

from orchestration.partitions import range_of

WAITING = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED]
LANE_TODAY = "eventlake/lane.today"
LANE_PAST = "eventlake/lane.past"
LANE_WHOLE = "eventlake/lane.whole"


@dataclass(frozen=True)
class WaitingRun:
    """A run not started yet: the assets it will materialize over days [first, last] (no days
    for an unpartitioned run)."""

    run_id: str
    job_name: str
    assets: frozenset[dg.AssetKey]
    first: date | None = None
    last: date | None = None
    created: float = 0.0

    def covers(self, keys: Iterable[dg.AssetKey], day: date | None = None) -> bool:
        """Returns whether this run will materialize every one of `keys` (for `day`)."""
        if not set(keys) <= self.assets:
            return False
        if day is None:
            return self.first is None
        return self.first is not None and self.last is not None and self.first <= day <= self.last

    def within(self, other: WaitingRun) -> bool:
        """Returns whether `other` does all this run does."""
        if self.job_name != other.job_name or not self.assets <= other.assets:
            return False
        if self.first is None or self.last is None:
            return other.first is None
        return other.covers(self.assets, self.first) and other.covers(self.assets, self.last)


def waiting_runs(
    instance: dg.DagsterInstance, jobs: Mapping[str, frozenset[dg.AssetKey]]
) -> list[WaitingRun]:
    """Returns the runs of `jobs` that have not started yet, oldest first.

    Args:
        jobs: per job name, the assets a run of it materializes when it selects no subset.
    """
    found = []
    for name, default in jobs.items():
        for record in instance.get_run_records(dg.RunsFilter(job_name=name, statuses=WAITING)):
            run = record.dagster_run
            assets = frozenset(run.asset_selection) if run.asset_selection else default
            first, last = range_of(run.tags) or (None, None)
            created = record.create_timestamp.timestamp()
            found.append(WaitingRun(run.run_id, name, assets, first, last, created=created))
    return sorted(found, key=lambda r: r.created)


def uncovered(
    waiting: Iterable[WaitingRun], keys: Iterable[dg.AssetKey], days: Iterable[date]
) -> set[date]:
    """Returns the days for which no waiting run covers every one of `keys`."""
    runs = list(waiting)
    keys = frozenset(keys)
    return {d for d in days if not any(r.covers(keys, d) for r in runs)}


def absorb(
    waiting: Iterable[WaitingRun], job_name: str, first: date, last: date
) -> tuple[date, date, frozenset[dg.AssetKey]]:
    """Returns the day range and assets of a new run of `job_name` over [first, last] that
    also does everything the job's waiting day runs do."""
    assets: frozenset[dg.AssetKey] = frozenset()
    for run in waiting:
        if run.job_name == job_name and run.first is not None and run.last is not None:
            first, last = min(first, run.first), max(last, run.last)
            assets |= run.assets
    return first, last, assets


def cancel_superseded(instance: dg.DagsterInstance, waiting: list[WaitingRun]) -> list[str]:
    """Cancels each waiting run that a newer waiting run covers entirely; returns their ids."""
    cancelled = []
    for i, run in enumerate(waiting):
        if any(run.within(newer) for newer in waiting[i + 1 :]):
            record = instance.get_run_by_id(run.run_id)
            if record is not None and record.status in WAITING:
                instance.report_run_canceled(record, message="superseded by a newer waiting run")
                cancelled.append(run.run_id)
    return cancelled


def lane_tags(first: date | None, last: date | None, today: date) -> dict[str, str]:
    """Returns the lane tags of a run over days [first, last] (None: an unpartitioned run)."""
    if first is None or last is None:
        return {LANE_WHOLE: "1"}
    tags = {}
    if last >= today:
        tags[LANE_TODAY] = "1"
    if first < today:
        tags[LANE_PAST] = "1"
    return tags
