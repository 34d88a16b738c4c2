"""The event-id index (silver/event_index): the days of bronze/events that hold an event id.

bronze/events is partitioned by day and an id does not say its day, so without the index
finding an event by id reads every id of every day. The index holds one row per event id and
day of bronze (every copy's id, of a registered type or not), partitioned by a bucket of the
id (`eventlake.log_rules.event_id_bucket`): a look-up reads the files of one bucket, then only
the bronze days they name (docs/metrics.md, docs/dashboard.md).

Each run rewrites its days from one bronze version and records on every row how many bronze
rows its day had then (`day_rows`). bronze/events only grows (the ingester appends; compaction
moves rows between files), so a day whose bronze row count, from the Delta log's statistics, no
longer matches has copies the index has not read yet: a reader reads that day directly until
the next run of the day (late events re-run it, as they re-run silver's). Retention deletes old
bronze days: their ids are then found in no bronze day (dashboard/data/explorer.py).
"""

from __future__ import annotations

from datetime import date

import dagster as dg
import polars as pl

from assets.day_range import day_asset_spec_kwargs, lake_settings, run_days, write_days
from assets.silver import BRONZE_EVENTS_SOURCE
from assets.timings import Phases
from eventlake import lake
from eventlake.catalog import BRONZE_EVENTS, SILVER_EVENT_INDEX
from eventlake.log_rules import event_id_bucket


def event_index(bronze: pl.LazyFrame, first: date, last: date) -> pl.LazyFrame:
    """One row per distinct (event_id, event_date) of `bronze` dated in [first, last], with its
    bucket and the bronze rows of its day (`day_rows`), sorted by bucket and id."""
    days = bronze.filter(pl.col("event_date").is_between(first, last)).select(
        "event_id", "event_date"
    )
    return (
        days.group_by("event_id", "event_date")
        .agg(copies=pl.len())
        .with_columns(
            id_bucket=event_id_bucket(pl.col("event_id")),
            day_rows=pl.col("copies").sum().over("event_date"),
        )
        .select(SILVER_EVENT_INDEX.schema.names())
        .sort("id_bucket", "event_id", "event_date")
        .cast(SILVER_EVENT_INDEX.schema)
    )


def event_index_asset(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """Returns the asset that rewrites silver/event_index for a run's range of days."""

    @dg.asset(
        partitions_def=partitions_def,
        deps=[BRONZE_EVENTS_SOURCE.key],
        **day_asset_spec_kwargs(SILVER_EVENT_INDEX),
    )
    def event_index_days(context) -> dg.MaterializeResult:  # Dagster rejects "context" typed
        settings = lake_settings(context)
        first, last = run_days(context)
        table = lake.open_table(settings, BRONZE_EVENTS)
        if table is None:
            return write_days(settings, SILVER_EVENT_INDEX, SILVER_EVENT_INDEX.empty(), first, last)
        phases = Phases()
        version = table.version()
        bronze = lake.scan(settings, BRONZE_EVENTS, version=version)
        frame = event_index(bronze, first, last).collect()
        phases.lap("compute")
        return write_days(
            settings, SILVER_EVENT_INDEX, frame, first, last, phases=phases, bronze_version=version
        )

    return event_index_days
