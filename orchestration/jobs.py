"""The day-partitioned assets and the jobs the sensors and schedules launch."""

from __future__ import annotations

import dagster as dg

from assets.active_users import daily_active_users_asset
from assets.revenue import revenue_daily_asset
from assets.silver import silver_events_asset
from eventlake.catalog import GOLD_DAILY_ACTIVE_USERS, GOLD_REVENUE_DAILY, SILVER_EVENTS, TableSpec
from orchestration.followups import FOLLOWUP_TABLES

INGESTED_DAYS_JOB = "ingested_days"
FOLLOWUP_JOB = "silver_followups"
DAY_TABLES: tuple[TableSpec, ...] = (SILVER_EVENTS, GOLD_REVENUE_DAILY, GOLD_DAILY_ACTIVE_USERS)


def asset_key(spec: TableSpec) -> dg.AssetKey:
    """Returns the Dagster asset key of a catalog table."""
    return dg.AssetKey(spec.asset_key)


def day_assets(partitions_def: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """Returns every day-partitioned asset: silver/events and the gold tables built from it."""
    return [
        silver_events_asset(partitions_def),
        revenue_daily_asset(partitions_def),
        daily_active_users_asset(partitions_def),
    ]


def ingested_days_job(partitions_def: dg.PartitionsDefinition) -> dg.UnresolvedAssetJobDefinition:
    """Returns the job that rebuilds silver and every day-partitioned gold table for a day range."""
    return dg.define_asset_job(
        INGESTED_DAYS_JOB,
        selection=dg.AssetSelection.assets(*(asset_key(t) for t in DAY_TABLES)),
        partitions_def=partitions_def,
        description="Silver and every day-partitioned gold table for a range of days "
        "(the days new bronze commits touched, or the nightly close of yesterday).",
    )


def followup_job(partitions_def: dg.PartitionsDefinition) -> dg.UnresolvedAssetJobDefinition:
    """Returns the job that rewrites gold days whose figures read days another run rewrote."""
    return dg.define_asset_job(
        FOLLOWUP_JOB,
        selection=dg.AssetSelection.assets(*(asset_key(t) for t in FOLLOWUP_TABLES)),
        partitions_def=partitions_def,
        description="Gold days outside a finished run that read the silver days it rewrote "
        "(the 30-day windows after them; days sharing an order_id).",
    )
