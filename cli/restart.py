"""What `eventlake up` finds of its previous run in the same folder, so that it can carry on.

The lake outlives the stack; the bundled broker (in memory) does not; Dagster's run history
does, with the runs whose workers stopped with the stack still marked as running
(docs/operations.md, "The local stack").
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from eventlake.errors import EventlakeError
from eventlake.settings import Settings


@dataclass(frozen=True)
class BronzeEvents:
    """How many events bronze/events holds, and the first and last of their days."""

    count: int
    first: date | None
    last: date | None


def broker_answers(bootstrap: str) -> bool:
    """Returns True when something accepts connections at the first bootstrap address, where
    `eventlake broker start` runs the bundled broker (a malformed address: False, and `broker
    start` reports it)."""
    host, _, port = bootstrap.split(",")[0].strip().split("://")[-1].rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=0.5):
            return True
    except (OSError, ValueError):
        return False


def bronze_exists(settings: Settings) -> bool:
    """Returns True when the lake has a bronze table that may hold offsets of record."""
    from eventlake import lake
    from eventlake.catalog import BRONZE_DEAD_LETTERS, BRONZE_EVENTS

    return any(lake.open_table(settings, t) for t in (BRONZE_EVENTS, BRONZE_DEAD_LETTERS))


def bronze_events(settings: Settings) -> BronzeEvents:
    """Returns what bronze/events holds (nothing when the table does not exist)."""
    import polars as pl

    from eventlake import lake
    from eventlake.catalog import BRONZE_EVENTS

    day = pl.col(BRONZE_EVENTS.day_column or "event_date")
    frame = lake.scan(settings, BRONZE_EVENTS).select(pl.len(), day.min().alias("first"), day.max())
    row = frame.collect()
    return BronzeEvents(*row.row(0))


@dataclass(frozen=True)
class EndedRuns:
    """The runs `end_unfinished_runs` ended: how many, by how they ended, and what they were
    rebuilding (their days; `whole` for an unpartitioned run)."""

    counts: dict[str, int]
    days: frozenset[date] = frozenset()
    whole: bool = False


def end_unfinished_runs(dagster_home: Path) -> EndedRuns:
    """Ends the runs left STARTING, STARTED or CANCELING; returns what they were.

    Their run workers stopped with the previous stack, and nothing else ends them here (run
    monitoring is off in this instance): each would hold a run-queue slot forever. CANCELING
    ones are marked canceled, as Dagster's own run monitoring does, so that no failure alert
    fires for a run someone asked to stop; the others failed. QUEUED runs are left alone: they
    start when the daemon does and read the newest log.
    """
    if not (dagster_home / "history" / "runs.db").exists():
        return EndedRuns({})  # no run history yet: spare the Dagster import
    import dagster as dg
    from sqlalchemy.exc import SQLAlchemyError

    from assets.day_range import days_between
    from orchestration.partitions import range_of

    # alembic logs its SQLite set-up at INFO on every open: noise among the lines `up` prints
    logging.getLogger("alembic").setLevel(logging.WARNING)
    status = dg.DagsterRunStatus
    why = "its run worker stopped with the previous `eventlake up`"
    ended = {"failed": 0, "canceled": 0}
    days: set[date] = set()
    whole = False
    try:
        with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
            unfinished = [status.STARTING, status.STARTED, status.CANCELING]
            for run in instance.get_runs(dg.RunsFilter(statuses=unfinished)):
                if run.status == status.CANCELING:
                    instance.report_run_canceled(run, message=why)
                    ended["canceled"] += 1
                    continue
                instance.report_run_failed(run, message=why)
                ended["failed"] += 1
                covered = range_of(run.tags)
                if covered is not None:
                    days.update(days_between(*covered))
                else:
                    whole = True
    except (dg.DagsterError, SQLAlchemyError) as err:
        raise EventlakeError(f"cannot read Dagster's runs in {dagster_home}: {err}") from err
    return EndedRuns({how: n for how, n in ended.items() if n}, frozenset(days), whole)


def rebuild_days(settings: Settings, days: Iterable[date]) -> int | None:
    """Records `days` as touched in an empty bronze/events commit, so that the bronze sensor
    runs them again (what a failed run was rebuilding is otherwise left as it was: the sensor
    has moved past the commits that asked for it). Returns the commit's version, None when
    there are no days or no bronze table."""
    from eventlake import lake
    from eventlake.catalog import BRONZE_EVENTS

    wanted = sorted(set(days))
    table = lake.open_table(settings, BRONZE_EVENTS)
    if not wanted or table is None:
        return None
    dates = ",".join(d.isoformat() for d in wanted)
    return lake.append_to(
        table, BRONZE_EVENTS, BRONZE_EVENTS.empty(), metadata={lake.EVENT_DATES_KEY: dates}
    )
