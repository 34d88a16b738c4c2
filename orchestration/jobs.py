"""Every asset, and the jobs the sensors and schedules launch."""

from __future__ import annotations

import dagster as dg

from assets.active_users import daily_active_users_asset
from assets.cohorts import cohort_retention_table
from assets.event_index import event_index_asset
from assets.funnel import funnel_daily_asset
from assets.hourly import revenue_hourly_asset, traffic_hourly_asset
from assets.lifecycle import lifecycle_daily_asset
from assets.products import DIM_PRODUCTS_SOURCE, product_performance_asset
from assets.revenue import revenue_by_product_asset, revenue_daily_asset
from assets.rfm import customer_rfm_table
from assets.sessions import sessions_asset, sessions_daily_asset
from assets.silver import BRONZE_EVENTS_SOURCE, silver_events_asset
from assets.typed_silver import TYPED_TABLES, typed_silver_asset
from assets.users import silver_users
from eventlake.catalog import (
    GOLD_DAY_TABLES,
    GOLD_WHOLE_TABLES,
    SILVER_EVENT_INDEX,
    SILVER_EVENTS,
    SILVER_SESSIONS,
    SILVER_USERS,
    TableSpec,
)

INGESTED_DAYS_JOB = "ingested_days"
# The check of every gold table that the nightly reconciliation evaluates
# (orchestration/reconcile_checks.py): a whole rebuild from the log, never part of a day's run.
RECONCILE_CHECK = "matches_log_rebuild"
FOLLOWUP_JOB = "follow_ups"
WHOLE_TABLES_JOB = "whole_tables"
DAY_TABLES: tuple[TableSpec, ...] = (
    SILVER_EVENTS,
    SILVER_EVENT_INDEX,
    *TYPED_TABLES,
    SILVER_SESSIONS,
    *GOLD_DAY_TABLES,
)
# What a follow-up can rewrite: everything built from silver/events and its typed tables (the
# event-id index reads only its own days of bronze).
FOLLOWUP_TABLES: tuple[TableSpec, ...] = tuple(
    t for t in DAY_TABLES if t not in (SILVER_EVENTS, SILVER_EVENT_INDEX, *TYPED_TABLES)
)
WHOLE_TABLES: tuple[TableSpec, ...] = (SILVER_USERS, *GOLD_WHOLE_TABLES)
SOURCES: tuple[dg.AssetSpec, ...] = (BRONZE_EVENTS_SOURCE, DIM_PRODUCTS_SOURCE)


def asset_key(spec: TableSpec) -> dg.AssetKey:
    """Returns the Dagster asset key of a catalog table."""
    return dg.AssetKey(spec.asset_key)


def tables_selection(tables: tuple[TableSpec, ...]) -> dg.AssetSelection:
    """Returns the selection of `tables` with their own checks, but not the reconciliation's
    (selecting an asset selects every check of it)."""
    reconciled = [
        dg.AssetCheckKey(asset_key(t), RECONCILE_CHECK) for t in tables if t.layer == "gold"
    ]
    return dg.AssetSelection.assets(*(asset_key(t) for t in tables)) - dg.AssetSelection.checks(
        *reconciled
    )


def day_assets(partitions_def: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """Returns every day-partitioned asset: silver/events and everything built from it by day,
    and the event-id index of bronze."""
    return [
        silver_events_asset(partitions_def),
        event_index_asset(partitions_def),
        typed_silver_asset(partitions_def),
        sessions_asset(partitions_def),
        revenue_daily_asset(partitions_def),
        revenue_by_product_asset(partitions_def),
        daily_active_users_asset(partitions_def),
        sessions_daily_asset(partitions_def),
        funnel_daily_asset(partitions_def),
        product_performance_asset(partitions_def),
        lifecycle_daily_asset(partitions_def),
        traffic_hourly_asset(partitions_def),
        revenue_hourly_asset(partitions_def),
    ]


def whole_assets() -> list[dg.AssetsDefinition]:
    """Returns the unpartitioned assets, rebuilt whole from every day of silver."""
    return [silver_users, cohort_retention_table, customer_rfm_table]


# The jobs of tables the sensors and schedules launch: what each rebuilds, and why.
_JOBS: dict[str, tuple[tuple[TableSpec, ...], str]] = {
    INGESTED_DAYS_JOB: (
        DAY_TABLES,
        "Silver and every day-partitioned table for a range of days (the days new bronze "
        "commits touched, or the nightly close of yesterday). The partitions outside the range "
        "that read its days follow through the follow_ups sensor.",
    ),
    FOLLOWUP_JOB: (
        FOLLOWUP_TABLES,
        "The day partitions outside a finished run that read the days it rewrote: the windows "
        "that include them (WAU/MAU, sessions, funnel, lifecycle) and the days sharing an "
        "order_id or a new user's next active day.",
    ),
    WHOLE_TABLES_JOB: (
        WHOLE_TABLES,
        "The users table, cohort retention and RFM, rebuilt whole after runs that rewrote the "
        "silver days they read.",
    ),
}


def tables_job(
    name: str, partitions_def: dg.PartitionsDefinition | None = None
) -> dg.UnresolvedAssetJobDefinition:
    """Returns the job `name` (one of `_JOBS`), run in-process, by the partitions of
    `partitions_def` (None: its tables are rebuilt whole)."""
    tables, description = _JOBS[name]
    return dg.define_asset_job(
        name,
        selection=tables_selection(tables),
        partitions_def=partitions_def,
        executor_def=dg.in_process_executor,
        description=description,
        # A retried run reads the log again in every step: a retry from the failed steps only
        # would keep the silver its first attempt read, and the sensors take the retry (a
        # waiting run of those days) for the newer work they would otherwise request.
        tags={"dagster/retry_strategy": "ALL_STEPS"},
    )
