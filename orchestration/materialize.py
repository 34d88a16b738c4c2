"""`eventlake materialize`: the assets (all, or some read models) for a range of days, in-process.

One Dagster run covers the whole range (the assets' single-run backfill policy), on the
DAGSTER_HOME instance when that is set (so the UI sees the materializations) or on an
ephemeral one. The same function rebuilds a scratch lake from the real log (reconciliation)
and re-materializes drifted partitions.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

import dagster as dg

from assets.day_range import LAKE_RESOURCE_KEY
from eventlake.catalog import BRONZE_EVENTS, TableSpec
from eventlake.errors import ConfigError, EventlakeError, LakeError
from eventlake.lake import open_table, table_uri
from eventlake.settings import Settings
from operations import log_retention
from orchestration.bronze_log import all_event_days
from orchestration.jobs import (
    DAY_TABLES,
    SOURCES,
    WHOLE_TABLES,
    asset_key,
    day_assets,
    whole_assets,
)
from orchestration.partitions import check_bounds, daily_partitions, range_tags
from orchestration.resources import LakeResource

READ_MODELS: tuple[TableSpec, ...] = (*DAY_TABLES, *WHOLE_TABLES)  # in dependency order


@dataclass(frozen=True)
class MaterializeReport:
    """What one `materialize_days` call did: its days, rows written per table, wall time."""

    first: date
    last: date
    rows: dict[str, int]
    seconds: float
    run_id: str
    runs: int = 2

    @property
    def days(self) -> int:
        """Returns the number of day partitions materialized."""
        return (self.last - self.first).days + 1

    def lines(self) -> list[str]:
        """Returns the report as lines for a terminal."""
        width = max(len(name) for name in self.rows)
        head = (
            f"materialized {self.first}..{self.last} ({_count(self.days, 'day')}, "
            f"{_count(self.runs, 'run')}) in {self.seconds:.1f} s"
        )
        return [head, *(f"  {name:<{width}}  {n:>12,} rows" for name, n in self.rows.items())]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


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

    Defaults are clipped to the partitions (start date .. today) and to the days the log still
    keeps (bronze retention); explicit bounds must lie within them.

    Raises:
        ConfigError: a bound is not a partition, or the range is empty (a usage error).
        LakeError: bronze/events is missing or empty.
    """
    start = settings.start_date
    check_bounds(settings, first, last, today)
    kept = log_retention.horizon(settings, today)
    if kept is not None and first is not None and first < kept:
        raise ConfigError(
            f"--from {first}: the log keeps only the days from {kept} (EVENTLAKE_BRONZE_"
            f"RETENTION_DAYS={settings.bronze_retention_days}); earlier days cannot be rebuilt"
        )
    if first is None or last is None:
        lo, hi = event_day_span(settings)
        first = first if first is not None else max(lo, start, kept or start)
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


def all_assets(settings: Settings) -> list[dg.AssetsDefinition | dg.AssetSpec]:
    """Returns every asset (sources, day-partitioned, unpartitioned) over the settings' days."""
    partitions_def = daily_partitions(settings)
    return [*SOURCES, *day_assets(partitions_def), *whole_assets()]


def read_model(name: str) -> TableSpec:
    """Returns the silver or gold table named `name` (`gold/revenue_daily` or `revenue_daily`).

    Raises:
        ConfigError: no read model has that name (a usage error; the message lists them).
    """
    by_name = {t.name: t for t in READ_MODELS}
    short = {t.name.split("/")[-1]: t for t in READ_MODELS}
    found = by_name.get(name) or short.get(name)
    if found is None:
        valid = ", ".join(by_name)
        raise ConfigError(f"--table: unknown table {name!r} (valid: {valid})")
    return found


def with_upstream(settings: Settings, tables: Sequence[TableSpec]) -> tuple[TableSpec, ...]:
    """Returns `tables` and every read model they are built from, in dependency order.

    The lineage is the assets' own (their deps), so it follows the asset definitions; a table
    written by a multi-asset brings its siblings (the typed silver tables are written together).
    """
    defs = dg.Definitions(
        assets=all_assets(settings),
        resources={LAKE_RESOURCE_KEY: LakeResource.from_settings(settings)},
    )
    graph = defs.resolve_asset_graph()
    selection = dg.AssetSelection.assets(*(asset_key(t) for t in tables)).upstream()
    # A multi-asset that cannot be subset (the typed silver tables) is run whole.
    keys = selection.required_multi_asset_neighbors().resolve(graph)
    return tuple(t for t in READ_MODELS if asset_key(t) in keys)


def materialize_days(
    settings: Settings,
    first: date,
    last: date,
    *,
    tables: Sequence[TableSpec] | None = None,
    tags: Mapping[str, str] | None = None,
    instance: dg.DagsterInstance | None = None,
    log_level: str = "WARNING",
) -> MaterializeReport:
    """Materializes the assets: the day-partitioned ones for days [first, last], in one run,
    then the unpartitioned ones (rebuilt whole) in a second run.

    Args:
        tables: the read models to materialize (None: all); a run whose selection is empty
            is skipped. Upstream tables are not added (see `with_upstream`); the siblings of a
            table written by a multi-asset are (the multi-asset runs whole).
        tags: run tags on top of the partition range's (for example the cause of a rewrite).
        log_level: the level of the run's console log (DEBUG shows every Dagster event).

    Raises:
        ValueError: a table of `tables` is not a read model.
        EventlakeError: the run failed (the message names the step and its error).
    """
    selected = READ_MODELS if tables is None else tuple(tables)
    unknown = [t.name for t in selected if t not in READ_MODELS]
    if unknown:
        raise ValueError(f"not read models: {', '.join(unknown)}")
    resources = {LAKE_RESOURCE_KEY: LakeResource.from_settings(settings)}
    run_config = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    assets = all_assets(settings)
    started = time.perf_counter()
    rows = {t.name: 0 for t in READ_MODELS if t in selected}
    run_id = ""
    runs = 0
    # Two runs: the day range (one run for the whole range), then the unpartitioned tables.
    for run_tags, group in ((range_tags(first, last), DAY_TABLES), ({}, WHOLE_TABLES)):
        chosen = [t for t in group if t in selected]
        if not chosen:
            continue
        result = dg.materialize(
            assets,
            instance=instance,
            resources=resources,
            tags={**run_tags, **(tags or {})},
            run_config=run_config,
            selection=dg.AssetSelection.assets(
                *(asset_key(t) for t in chosen)
            ).required_multi_asset_neighbors(),
            raise_on_error=False,
        )
        if not result.success:
            raise EventlakeError(f"{first}..{last}: {_first_failure(result)}")
        run_id = run_id or result.run_id
        runs += 1
        for event in result.get_asset_materialization_events():
            if event.asset_key is None:
                continue
            name = "/".join(event.asset_key.path)
            value = event.materialization.metadata.get("rows")
            if isinstance(value, dg.IntMetadataValue) and value.value is not None:
                rows[name] = value.value  # the run's rows: the same on each of its partitions
    seconds = time.perf_counter() - started
    return MaterializeReport(first, last, rows, seconds, run_id, runs)


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
