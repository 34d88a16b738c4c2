"""The Dagster entry point: `defs`, built once from the EVENTLAKE_* environment.

Loaded by `dagster dev -w workspace.yaml` (module `orchestration.definitions`, attribute `defs`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import dagster as dg

from assets.day_range import LAKE_RESOURCE_KEY
from eventlake.settings import Settings
from orchestration.followups import Lineage
from orchestration.jobs import (
    FOLLOWUP_JOB,
    INGESTED_DAYS_JOB,
    SOURCES,
    WHOLE_TABLES_JOB,
    day_assets,
    tables_job,
    whole_assets,
)
from orchestration.maintenance_job import (
    lake_maintenance,
    lake_maintenance_nightly,
    maintenance_resources,
)
from orchestration.partitions import daily_partitions
from orchestration.reconcile_checks import reconciliation_parts
from orchestration.resources import LakeResource
from orchestration.schedules import close_day_schedule
from orchestration.sensors import bronze_commits_sensor, followups_sensor
from telemetry import tracing


def build_definitions(settings: Settings, env: Mapping[str, str] | None = None) -> dg.Definitions:
    """Returns every asset, job, sensor, schedule and resource for the lake in `settings`.

    Args:
        settings: the settings built at the entry point.
        env: the environment they came from (its EVENTLAKE_* lake variables are bound as
            EnvVars); None binds the settings' values as literals.
    """
    partitions_def = daily_partitions(settings)
    ingested = tables_job(INGESTED_DAYS_JOB, partitions_def)
    followups = tables_job(FOLLOWUP_JOB, partitions_def)
    whole = tables_job(WHOLE_TABLES_JOB)
    checks, reconciliation, reconcile_nightly = reconciliation_parts(settings)
    assets = [*day_assets(partitions_def), *whole_assets()]
    return dg.Definitions(
        assets=[*SOURCES, *assets],
        asset_checks=checks,
        jobs=[ingested, followups, whole, lake_maintenance, reconciliation],
        sensors=[
            bronze_commits_sensor(partitions_def, ingested, settings.bronze_retention_days),
            followups_sensor(partitions_def, Lineage.of(assets), [followups, whole]),
        ],
        schedules=[
            close_day_schedule(partitions_def, ingested),
            lake_maintenance_nightly,
            reconcile_nightly,
        ],
        resources={
            LAKE_RESOURCE_KEY: LakeResource.from_settings(settings, env),
            **maintenance_resources(settings, env),
        },
    )


tracing.configure("dagster")  # Dagster's processes load this module, not the eventlake command
defs = build_definitions(Settings.from_env(), os.environ)
