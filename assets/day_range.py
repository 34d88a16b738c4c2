"""The day range a partitioned run covers, and writing a table's rows for that range back.

Every day-partitioned asset runs over a contiguous range of days (one day, or a whole range in
one run under `BackfillPolicy.single_run()`), reads through the catalog, calls its pure
projection and replaces exactly those days in its Delta table.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import Any

import dagster as dg
import polars as pl

from assets import restatements
from assets.checks import RowCheck
from assets.timings import Phases
from eventlake import lake
from eventlake.catalog import SILVER_EVENTS, TableSpec
from eventlake.log_rules import GOLD_BRONZE_KEY, encode_day_versions, silver_day_app_id
from eventlake.settings import Settings
from telemetry import tracing

# `backfill_policy` is flagged beta in Dagster 1.13; the single-run policy is what range runs
# rely on, and the tests exercise it, so the warning on every definitions load is noise.
warnings.filterwarnings("ignore", category=dg.BetaWarning, message=".*backfill_policy.*")
# Likewise for the mapping that lets today's partition read "tomorrow" (not a partition yet).
warnings.filterwarnings(
    "ignore", category=dg.BetaWarning, message=".*allow_nonexistent_upstream_partitions.*"
)

LAKE_RESOURCE_KEY = "lake"  # bound to orchestration.resources.LakeResource
DAY_RANGE_KINDS = {"polars", "delta"}
# Concurrent runs writing the same days (a follow-up and a fresh run) can hit a Delta commit
# conflict; the replace is idempotent, so retrying the step is safe.
RETRY_POLICY = dg.RetryPolicy(
    max_retries=2, delay=1, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)


def run_days(context: dg.AssetExecutionContext) -> tuple[date, date]:
    """Returns the first and last day (inclusive) of the run's partition range.

    Uses the time window, never `context.partition_key`, which raises in range runs.
    """
    window = context.partition_time_window
    return window.start.date(), (window.end - timedelta(days=1)).date()


def days_between(first: date, last: date) -> list[date]:
    """Returns every day from `first` to `last`, both included (none when `last` < `first`)."""
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def lake_settings(context: dg.AssetExecutionContext) -> Settings:
    """Returns the lake settings from the `lake` resource."""
    resource: Any = getattr(context.resources, LAKE_RESOURCE_KEY)
    return resource.settings()


def write_days(
    settings: Settings,
    spec: TableSpec,
    frame: pl.DataFrame,
    first: date,
    last: date,
    checks: Sequence[dg.AssetCheckResult] = (),
    phases: Phases | None = None,
    **extra: int | str,
) -> dg.MaterializeResult:
    """Returns the materialization of `frame` written as the whole content of days [first, last].

    Days of the range without rows in `frame` are cleared. The metadata is the same for every
    partition of the range: the run's row count, its days and the table's new Delta version,
    plus `extra` entries (for example the Delta version of the input that was read), and for a
    gold table the number of figures it restated (recorded in audit/restatements). `phases`
    (the asset's timings so far) gains the write and the restatements. A gold table's commit
    records, per day, the bronze version its input reflects (`reflected_bronze`).
    """
    phases = phases or Phases()
    metadata = reflected_bronze(settings, first, last) if spec.layer == "gold" else None
    version = lake.replace_days(settings, spec, frame, first, last, metadata=metadata)
    phases.lap("write")
    if spec.layer == "gold":
        extra["restated_figures"] = restatements.record(
            settings, spec, frame, version, (first, last)
        )
        phases.lap("restatements")
    return day_result(settings, spec, frame.height, first, last, checks, phases, **extra)


def reflected_bronze(settings: Settings, first: date, last: date) -> dict[str, str]:
    """Returns the commit metadata of a gold write of days [first, last]: per day, the bronze
    version silver/events reflects (its `eventlake-silver/<day>` txns, eventlake/log_rules.py),
    which the event-to-gold latency reads (docs/operations.md, "Event to gold latency").

    Read at the write, not when the asset read its input: runs writing a day run one at a time
    (the lanes, docs/architecture.md "The loop"), so silver's day cannot move in between, except
    under a UI backfill, which holds no lane. Days silver never recorded are left out.
    """
    silver = lake.open_table(settings, SILVER_EVENTS)
    versions = {
        day: version
        for day in days_between(first, last)
        if (version := lake.txn_of(silver, silver_day_app_id(day))) is not None
    }
    return {GOLD_BRONZE_KEY: encode_day_versions(versions)} if versions else {}


def write_table(
    settings: Settings, spec: TableSpec, frame: pl.DataFrame, phases: Phases | None = None
) -> dg.MaterializeResult:
    """Returns the materialization of `frame` written as the whole of an unpartitioned table:
    its rows and new Delta version, and for a gold table the figures it restated."""
    phases = phases or Phases()
    version = lake.replace_all(settings, spec, frame)
    phases.lap("write")
    metadata: dict[str, Any] = {"rows": frame.height, "delta_version": version}
    if spec.layer == "gold":
        metadata["restated_figures"] = restatements.record(settings, spec, frame, version)
        phases.lap("restatements")
    traced_materialization(spec, phases, metadata)
    return dg.MaterializeResult(metadata={**metadata, **phases.metadata()})


def day_result(
    settings: Settings,
    spec: TableSpec,
    rows: int,
    first: date,
    last: date,
    checks: Sequence[dg.AssetCheckResult] = (),
    phases: Phases | None = None,
    **extra: int | str,
) -> dg.MaterializeResult:
    """Returns the materialization (metadata, check results, the asset's `phases` timings if
    given) of a table whose days [first, last] were written."""
    timings = phases.metadata() if phases is not None else {}
    metadata = day_metadata(settings, spec, rows, first, last, **extra)
    if phases is not None:
        traced_materialization(spec, phases, metadata)
    return dg.MaterializeResult(metadata={**metadata, **timings}, check_results=list(checks))


def traced_materialization(spec: TableSpec, phases: Phases, metadata: dict[str, Any]) -> None:
    """Records the span of one table's materialization (docs/operations.md, "Tracing")."""
    if not tracing.is_on():
        return
    attributes = {"eventlake.table": spec.name, "eventlake.rows": _plain(metadata["rows"])}
    for key in ("first_day", "last_day", "delta_version"):
        if key in metadata:
            attributes[f"eventlake.{key}"] = _plain(metadata[key])
    tracing.record_span(f"eventlake materialize {spec.name}", phases.started_ns, attributes)


def _plain(value: Any) -> Any:
    """Returns a metadata value as a plain number or string (span attributes take no objects)."""
    return getattr(value, "value", value)


def day_metadata(
    settings: Settings, spec: TableSpec, rows: int, first: date, last: date, **extra: int | str
) -> dict[str, Any]:
    """Returns the metadata of one written table: rows, day range, Delta version, location."""
    table = lake.open_table(settings, spec)
    return {
        "rows": dg.MetadataValue.int(rows),
        "first_day": first.isoformat(),
        "last_day": last.isoformat(),
        "days": dg.MetadataValue.int((last - first).days + 1),
        "delta_version": dg.MetadataValue.int(table.version() if table is not None else -1),
        "table_uri": dg.MetadataValue.path(lake.table_uri(settings, spec)),
        **extra,
    }


def window(start_offset: int, end_offset: int = 0) -> dg.TimeWindowPartitionMapping:
    """Returns the mapping of a day to the days [D + start_offset, D + end_offset] upstream.

    Days after the last partition (tomorrow, for today's partition) are allowed to be missing.
    """
    return dg.TimeWindowPartitionMapping(
        start_offset=start_offset,
        end_offset=end_offset,
        allow_nonexistent_upstream_partitions=end_offset > 0,
    )


def day_asset_spec_kwargs(spec: TableSpec) -> dict[str, Any]:
    """Returns the @asset keyword arguments every day-partitioned table shares."""
    kwargs: dict[str, Any] = {
        "key": spec.asset_key,
        "group_name": spec.layer,
        "description": spec.description,
        "kinds": DAY_RANGE_KINDS,
        "backfill_policy": dg.BackfillPolicy.single_run(),
        "required_resource_keys": {LAKE_RESOURCE_KEY},
        "retry_policy": RETRY_POLICY,
        "metadata": {"table": spec.name, "dagster/column_schema": _columns(spec)},
    }
    return kwargs


def day_table_asset(
    spec: TableSpec,
    partitions_def: dg.PartitionsDefinition,
    deps: Sequence[Sequence[str] | dg.AssetDep],
    build: Callable[[Settings, date, date], pl.LazyFrame],
    check: RowCheck | None = None,
) -> dg.AssetsDefinition:
    """Returns the asset that rewrites a run's days [first, last] of `spec` with the rows of
    `build(settings, first, last)`, on which it runs `check` (non-blocking) when given."""

    @dg.asset(
        partitions_def=partitions_def,
        deps=deps,
        check_specs=[check.spec(spec.asset_key)] if check else None,
        **day_asset_spec_kwargs(spec),
    )
    def days(context) -> dg.MaterializeResult:  # Dagster rejects a string-annotated context
        settings = lake_settings(context)
        phases = Phases()
        first, last = run_days(context)
        frame = build(settings, first, last).collect()
        found = [check.run(spec.asset_key, frame)] if check else []
        phases.lap("compute")
        return write_days(settings, spec, frame, first, last, found, phases=phases)

    return days


def multi_day_asset_kwargs(partitions_def: dg.PartitionsDefinition | None) -> dict[str, Any]:
    """Returns the @multi_asset keyword arguments of a multi-asset over day partitions (or none)."""
    kwargs: dict[str, Any] = {
        "required_resource_keys": {LAKE_RESOURCE_KEY},
        "retry_policy": RETRY_POLICY,
        "can_subset": False,
    }
    if partitions_def is not None:
        kwargs["partitions_def"] = partitions_def
        kwargs["backfill_policy"] = dg.BackfillPolicy.single_run()
    return kwargs


def whole_table_asset(
    spec: TableSpec, projection: Callable[..., pl.LazyFrame], *inputs: TableSpec
) -> dg.AssetsDefinition:
    """Returns the asset of an unpartitioned table rebuilt whole each run: `projection` of the
    `inputs` tables (its arguments, in that order), each read whole."""

    @dg.asset(
        deps=[table.asset_key for table in inputs],
        key=spec.asset_key,
        group_name=spec.layer,
        description=spec.description,
        kinds=DAY_RANGE_KINDS,
        required_resource_keys={LAKE_RESOURCE_KEY},
        retry_policy=RETRY_POLICY,
        metadata={"table": spec.name, "dagster/column_schema": _columns(spec)},
    )
    def whole(context) -> dg.MaterializeResult:  # Dagster rejects a string-annotated context
        settings = lake_settings(context)
        phases = Phases()
        frame = projection(*(lake.scan(settings, table) for table in inputs)).collect()
        phases.lap("compute")
        return write_table(settings, spec, frame, phases=phases)

    return whole


def _columns(spec: TableSpec) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[dg.TableColumn(name, str(dtype)) for name, dtype in spec.schema.items()]
    )
