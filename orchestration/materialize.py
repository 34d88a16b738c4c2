"""`eventlake materialize`: every day-partitioned asset for a range of days, in-process.

One Dagster run covers the whole range (the assets' single-run backfill policy), on the
DAGSTER_HOME instance when that is set (so the UI sees the materializations) or on an
ephemeral one.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

import dagster as dg

from assets.day_range import LAKE_RESOURCE_KEY
from eventlake.catalog import BRONZE_EVENTS
from eventlake.errors import ConfigError, EventlakeError, LakeError
from eventlake.lake import open_table, table_uri
from eventlake.settings import Settings
from orchestration.bronze_log import all_event_days
from orchestration.jobs import (
    DAY_TABLES,
    SOURCES,
    WHOLE_TABLES,
    asset_key,
    day_assets,
    whole_assets,
)
from orchestration.partitions import daily_partitions, range_tags
from orchestration.resources import LakeResource


@dataclass(frozen=True)
class MaterializeReport:
    """What one `materialize_days` call did: its days, rows written per table, wall time."""

    first: date
    last: date
    rows: dict[str, int]
    seconds: float
    run_id: str

    @property
    def days(self) -> int:
        """Returns the number of day partitions materialized."""
        return (self.last - self.first).days + 1

    def lines(self) -> list[str]:
        """Returns the report as lines for a terminal."""
        width = max(len(name) for name in self.rows)
        head = (
            f"materialized {self.first}..{self.last} ({self.days} days, 2 runs) "
            f"in {self.seconds:.1f} s"
        )
        return [head, *(f"  {name:<{width}}  {n:>12,} rows" for name, n in self.rows.items())]


def event_day_span(settings: Settings) -> tuple[date, date]:
    """Returns the first and last event_date holding events in bronze/events.

    Raises:
        LakeError: the table does not exist or holds no events.
    """
    table = open_table(settings, BRONZE_EVENTS)
    if table is None:
        raise LakeError(f"no {BRONZE_EVENTS.name} table at {table_uri(settings, BRONZE_EVENTS)}")
    days = all_event_days(table)
    if not days:
        raise LakeError(f"{BRONZE_EVENTS.name} holds no events yet")
    return min(days), max(days)


def resolve_days(
    settings: Settings, first: date | None, last: date | None, today: date
) -> tuple[date, date]:
    """Returns the days to materialize: the given bounds, the rest from bronze's event days.

    Defaults are clipped to the partitions (start date .. today); explicit bounds must lie
    within them.

    Raises:
        ConfigError: a bound is not a partition, or the range is empty (a usage error).
        LakeError: bronze/events is missing or empty.
    """
    start = settings.start_date
    for flag, day in (("--from", first), ("--to", last)):
        if day is not None and not start <= day <= today:
            raise ConfigError(
                f"{flag} {day} is not a day partition (they run from {start}, "
                f"EVENTLAKE_START_DATE, to today {today} UTC)"
            )
    if first is None or last is None:
        lo, hi = event_day_span(settings)
        first = first if first is not None else max(lo, start)
        last = last if last is not None else min(hi, today)
    if first > last:
        raise ConfigError(f"no days to materialize: {first} is after {last}")
    return first, last


@contextmanager
def cli_instance() -> Iterator[dg.DagsterInstance]:
    """Yields the DAGSTER_HOME instance when DAGSTER_HOME is set, else an ephemeral one."""
    if os.environ.get("DAGSTER_HOME"):
        with dg.DagsterInstance.get() as instance:
            yield instance
    else:
        with dg.DagsterInstance.ephemeral() as instance:
            yield instance


def materialize_days(
    settings: Settings,
    first: date,
    last: date,
    *,
    instance: dg.DagsterInstance | None = None,
    log_level: str = "WARNING",
) -> MaterializeReport:
    """Materializes every asset: the day-partitioned ones for days [first, last], in one run,
    then the unpartitioned ones (rebuilt whole) in a second run.

    Args:
        log_level: the level of the run's console log (DEBUG shows every Dagster event).

    Raises:
        EventlakeError: the run failed (the message names the step and its error).
    """
    partitions_def = daily_partitions(settings)
    resources = {LAKE_RESOURCE_KEY: LakeResource.from_settings(settings)}
    run_config = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    assets: list[dg.AssetsDefinition | dg.AssetSpec] = [
        *SOURCES,
        *day_assets(partitions_def),
        *whole_assets(),
    ]
    started = time.perf_counter()
    rows = dict.fromkeys((t.name for t in (*DAY_TABLES, *WHOLE_TABLES)), 0)
    run_id = ""
    # Two runs: the day range (one run for the whole range), then the unpartitioned tables.
    for tags, tables in ((range_tags(first, last), DAY_TABLES), ({}, WHOLE_TABLES)):
        result = dg.materialize(
            assets,
            instance=instance,
            resources=resources,
            tags=tags,
            run_config=run_config,
            selection=dg.AssetSelection.assets(*(asset_key(t) for t in tables)),
            raise_on_error=False,
        )
        if not result.success:
            raise EventlakeError(f"{first}..{last}: {_first_failure(result)}")
        run_id = run_id or result.run_id
        for event in result.get_asset_materialization_events():
            if event.asset_key is None:
                continue
            name = "/".join(event.asset_key.path)
            value = event.materialization.metadata.get("rows")
            if isinstance(value, dg.IntMetadataValue) and value.value is not None:
                rows[name] = value.value  # the run's rows: the same on each of its partitions
    seconds = time.perf_counter() - started
    return MaterializeReport(first, last, rows, seconds, run_id)


def _first_failure(result: dg.ExecuteInProcessResult) -> str:
    """Returns the first failed step and the asset's own error, on one line."""
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data.error is not None:
            # Dagster wraps the asset's exception (step error, retry exhausted): unwrap once.
            error = event.step_failure_data.error.cause or event.step_failure_data.error
            lines = error.message.strip().splitlines()
            text = lines[0] if lines else "unknown error"
            prefix, sep, rest = text.partition(": ")
            if sep and prefix.endswith(error.cls_name or "\0"):
                text = rest  # drop "module.Class: "; the class name is put back below
            return f"step {event.step_key} failed: {error.cls_name}: {text}"
    return "the run failed"
