"""The cleaned event log (silver/events): the pure projection and the Dagster asset running it.

Cleaning is three steps, in this order:

1. Deduplicate by `event_id`: the earliest-ingested copy wins (`ingested_at`, ties broken by
   Kafka topic, partition and offset) across the WHOLE log. A duplicate may carry another
   timestamp and so another day, so a bronze row of day D is kept only if it is the winning copy
   of its event_id over all of bronze, not just over day D.
2. Keep registered types only: `registered` (the type was registered when the event was
   ingested, so its payload was validated) and a (type, version) the registry knows (the
   ingester dead-letters unknown versions, so only hand-written bronze rows fail this one).
3. Upcast payloads to the latest version through the registry's upcasters; `schema_version`
   then holds that latest version. `user_id` (payload) and `session_id` (metadata, null if
   absent) are lifted out into columns.
"""

from __future__ import annotations

import dagster as dg
import msgspec
import polars as pl

from assets.day_range import day_asset_spec_kwargs, lake_settings, run_days, write_days
from eventlake import lake
from eventlake.catalog import BRONZE_EVENTS, SILVER_EVENTS
from eventlake.envelope import to_json
from eventlake.registry import REGISTRY, upcast

WINNER_ORDER = ("ingested_at", "kafka_topic", "kafka_partition", "kafka_offset")
INGEST_POSITION = ("event_id", *WINNER_ORDER)  # identifies one bronze row (one Kafka message)

BRONZE_EVENTS_SOURCE = dg.AssetSpec(
    key=BRONZE_EVENTS.asset_key,
    description=BRONZE_EVENTS.description + " Written by the ingester, outside Dagster.",
    group_name="bronze",
    kinds={"delta"},
    metadata={"table": BRONZE_EVENTS.name},
)


def registered_versions() -> pl.LazyFrame:
    """One row per registered (event_type, schema_version), with the type's latest version."""
    rows = [
        (name, version, kind.latest_version)
        for name, kind in REGISTRY.items()
        for version in kind.versions
    ]
    schema = {"event_type": pl.String, "schema_version": pl.Int32, "latest_version": pl.Int32}
    return pl.LazyFrame(rows, schema=schema, orient="row")


def first_ingested_copies(bronze: pl.LazyFrame, event_ids: pl.LazyFrame) -> pl.LazyFrame:
    """One row per event_id of `event_ids`: the ingest position of its earliest copy in `bronze`.

    Cost: this reads the five position columns of every bronze row (a hash semi-join narrows
    them to the wanted ids before sorting). At tens of millions of events that is the price
    of each run; an event_id index table maintained by silver itself would make it
    proportional to the day instead, when it matters.
    """
    wanted = event_ids.select("event_id").unique()
    return (
        bronze.select(INGEST_POSITION)
        .join(wanted, on="event_id", how="semi")
        .sort(WINNER_ORDER, nulls_last=True)
        .unique("event_id", keep="first", maintain_order=True)
    )


def silver_events(bronze_days: pl.LazyFrame, bronze_all: pl.LazyFrame) -> pl.LazyFrame:
    """One row per distinct event_id of a registered type whose winning copy is in `bronze_days`.

    Args:
        bronze_days: the bronze/events rows of the days to build (a subset of `bronze_all`).
        bronze_all: all of bronze/events; only the event_id and ingest-position columns are read.

    Returns:
        The SILVER_EVENTS columns, payloads upcast to the latest version, sorted by
        (event_date, event_time, event_id).
    """
    winners = first_ingested_copies(bronze_all, bronze_days)
    kept = (
        bronze_days.join(winners, on=list(INGEST_POSITION), how="semi", nulls_equal=True)
        # One Kafka message is written once, so a position names one row; guard anyway.
        .unique("event_id", keep="any")
        .filter(pl.col("registered"))
        .join(registered_versions(), on=["event_type", "schema_version"], how="inner")
    )
    outdated = pl.col("schema_version") < pl.col("latest_version")
    upcast_payload = pl.struct("event_type", "schema_version", "payload").map_batches(
        _upcast_batch, return_dtype=pl.String
    )
    # Only rows below the latest version need Python work; the rest pass through untouched.
    events = pl.concat(
        [
            kept.filter(~outdated),
            kept.filter(outdated).with_columns(payload=upcast_payload),
        ]
    )
    return (
        events.with_columns(
            schema_version=pl.col("latest_version"),
            user_id=pl.col("payload").str.json_path_match("$.user_id"),
            session_id=pl.col("metadata").str.json_path_match("$.session_id"),
        )
        .select(SILVER_EVENTS.schema.names())
        .cast(SILVER_EVENTS.schema)
        .sort("event_date", "event_time", "event_id")
    )


def _upcast_batch(rows: pl.Series) -> pl.Series:
    """Returns each row's payload (JSON text) upcast to its type's latest version."""
    decode = msgspec.json.decode
    out = [
        to_json(upcast(REGISTRY[row["event_type"]], row["schema_version"], decode(row["payload"])))
        for row in rows.to_list()
    ]
    return pl.Series(out, dtype=pl.String)


def silver_events_asset(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """Returns the Dagster asset that builds silver/events for a run's range of days."""

    @dg.asset(
        partitions_def=partitions_def,
        deps=[BRONZE_EVENTS_SOURCE.key],
        **day_asset_spec_kwargs(SILVER_EVENTS),
    )
    def silver_events_days(
        context,
    ) -> dg.MaterializeResult:  # Dagster rejects a string-annotated context
        settings = lake_settings(context)
        first, last = run_days(context)
        table = lake.open_table(settings, BRONZE_EVENTS)
        # Pin one bronze version: the day rows and the dedup over all rows must agree.
        version = table.version() if table is not None else None
        bronze = lake.scan(settings, BRONZE_EVENTS, version=version)
        bronze_days = bronze.filter(pl.col("event_date").is_between(first, last))
        frame = silver_events(bronze_days, bronze).collect()
        read = {} if version is None else {"bronze_version": version}
        return write_days(settings, SILVER_EVENTS, frame, first, last, **read)

    return silver_events_days
