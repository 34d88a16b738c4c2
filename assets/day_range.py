"""The day range a partitioned run covers, and writing a table's rows for that range back.

Every day-partitioned asset runs over a contiguous range of days (one day, or a whole range in
one run under `BackfillPolicy.single_run()`), reads through the catalog, calls its pure
projection and replaces exactly those days in its Delta table.
"""

from __future__ import annotations

import warnings
from datetime import date, timedelta
from typing import Any

import dagster as dg
import polars as pl

from eventlake import lake
from eventlake.catalog import TableSpec
from eventlake.settings import Settings

# `backfill_policy` is flagged beta in Dagster 1.13; the single-run policy is what range runs
# rely on, and the tests exercise it, so the warning on every definitions load is noise.
warnings.filterwarnings("ignore", category=dg.BetaWarning, message=".*backfill_policy.*")

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
    **extra: int | str,
) -> dg.MaterializeResult:
    """Returns the materialization of `frame` written as the whole content of days [first, last].

    Days of the range without rows in `frame` are cleared. The metadata is the same for every
    partition of the range: the run's row count, its days and the table's new Delta version,
    plus `extra` entries (for example the Delta version of the input that was read).
    """
    version = lake.replace_days(settings, spec, frame, first, last)
    metadata: dict[str, Any] = {
        "rows": dg.MetadataValue.int(frame.height),
        "first_day": first.isoformat(),
        "last_day": last.isoformat(),
        "days": dg.MetadataValue.int((last - first).days + 1),
        "delta_version": dg.MetadataValue.int(version),
        "table_uri": dg.MetadataValue.path(lake.table_uri(settings, spec)),
        **extra,
    }
    return dg.MaterializeResult(metadata=metadata)


def day_asset_spec_kwargs(spec: TableSpec) -> dict[str, Any]:
    """Returns the @asset keyword arguments every day-partitioned table shares."""
    return {
        "key": spec.asset_key,
        "group_name": spec.layer,
        "description": spec.description,
        "kinds": DAY_RANGE_KINDS,
        "backfill_policy": dg.BackfillPolicy.single_run(),
        "required_resource_keys": {LAKE_RESOURCE_KEY},
        "retry_policy": RETRY_POLICY,
        "metadata": {"table": spec.name, "dagster/column_schema": _columns(spec)},
    }


def _columns(spec: TableSpec) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[dg.TableColumn(name, str(dtype)) for name, dtype in spec.schema.items()]
    )
