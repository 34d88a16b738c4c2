"""What `eventlake up` finds of its previous run in the same folder, so that it can carry on.

The lake outlives the stack; the bundled broker (in memory) does not; Dagster's run history
does, with the runs whose workers stopped with the stack still marked as running
(docs/operations.md, "The local stack").
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from eventlake.errors import EventlakeError
from eventlake.settings import Settings

STOPPING_FILE = "stopping-since"  # in the state folder: when the last `up` began to stop


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


def end_unfinished_runs(dagster_home: Path, stopped_since: float | None = None) -> EndedRuns:
    """Ends the runs left STARTING, STARTED or CANCELING; returns what they were, together
    with the runs the previous stop ended: those that failed or were canceled at or after
    `stopped_since` (epoch seconds, when the previous `up` began to stop), their workers
    killed with the stack.

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
    ended = {"failed": 0, "canceled": 0, "stopped": 0}
    days: set[date] = set()
    whole = False

    def redo(run: dg.DagsterRun) -> None:
        nonlocal whole
        covered = range_of(run.tags)
        if covered is not None:
            days.update(days_between(*covered))
        else:
            whole = True

    try:
        with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
            if stopped_since is not None:
                # run records keep whole seconds
                since = datetime.fromtimestamp(stopped_since - 1, UTC)
                killed = dg.RunsFilter(statuses=[status.FAILURE, status.CANCELED],
                                       updated_after=since)  # fmt: skip
                for run in instance.get_runs(killed):
                    ended["stopped"] += 1
                    redo(run)
            unfinished = [status.STARTING, status.STARTED, status.CANCELING]
            for run in instance.get_runs(dg.RunsFilter(statuses=unfinished)):
                if run.status == status.CANCELING:
                    instance.report_run_canceled(run, message=why)
                    ended["canceled"] += 1
                    continue
                instance.report_run_failed(run, message=why)
                ended["failed"] += 1
                redo(run)
    except (dg.DagsterError, SQLAlchemyError) as err:
        raise EventlakeError(f"cannot read Dagster's runs in {dagster_home}: {err}") from err
    return EndedRuns({how: n for how, n in ended.items() if n}, frozenset(days), whole)


def mark_stopping(state: Path) -> None:
    """Records when this `up` began to stop (the runs it kills from then on are redone)."""
    (state / STOPPING_FILE).write_text(f"{time.time():.3f}\n")


def stopped_since(state: Path) -> float | None:
    """Returns when the previous `up` in `state` began to stop, and forgets it (None: it did
    not stop cleanly, or there was none)."""
    path = state / STOPPING_FILE
    try:
        return float(path.read_text())
    except (OSError, ValueError):
        return None
    finally:
        path.unlink(missing_ok=True)


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
