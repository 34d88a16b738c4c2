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

import time
from datetime import date, timedelta

import dagster as dg
import msgspec
import polars as pl

from assets import checks, traced_events
from assets.day_range import (
    day_asset_spec_kwargs,
    day_result,
    days_between,
    lake_settings,
    run_days,
)
from assets.timings import Phases
from eventlake import lake
from eventlake.catalog import BRONZE_EVENTS, SILVER_EVENTS
from eventlake.envelope import to_json
from eventlake.lake import DeltaTable
from eventlake.log_rules import WINNER_ORDER, silver_day_app_id
from eventlake.registry import REGISTRY, upcast
from eventlake.settings import Settings

INGEST_POSITION = ("event_id", *WINNER_ORDER)  # identifies one bronze row (one Kafka message)
# Run tag: the run may append to silver what bronze gained (the loop's runs); other runs
# (backfills, replays, reconciliation heals) rebuild from the log, which also applies changed code.
INCREMENTAL_TAG = "eventlake/incremental"
CHUNK_DAYS = 10  # days cleaned and written at a time in a long range run (bounds memory)
# A 64-bit hash of the event id: 8 bytes per row to compare ids across the whole log.
_id_hash = pl.col("event_id").hash(seed=0x5EED)

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


def losing_copies(copies: pl.LazyFrame) -> pl.LazyFrame:
    """One row per bronze row (ingest position) that is not the earliest-ingested copy of its id.

    Args:
        copies: the ingest positions (INGEST_POSITION) of every bronze copy of some event ids.
    """
    return (
        copies.select(INGEST_POSITION)
        .sort(WINNER_ORDER, nulls_last=True, maintain_order=True)
        .filter(~pl.col("event_id").is_first_distinct())
    )


def clean(bronze_rows: pl.LazyFrame, losers: pl.LazyFrame) -> pl.LazyFrame:
    """The SILVER_EVENTS rows of `bronze_rows` minus the `losers` (positions of losing copies).

    Keeps registered (type, version) pairs, upcasts payloads, lifts `user_id` and `session_id`;
    sorted by (event_date, event_time, event_id).
    """
    kept = (
        bronze_rows.join(losers, on=list(INGEST_POSITION), how="anti", nulls_equal=True)
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


def silver_events(bronze_days: pl.LazyFrame, bronze_all: pl.LazyFrame) -> pl.LazyFrame:
    """One row per distinct event_id of a registered type whose winning copy is in `bronze_days`.

    Args:
        bronze_days: the bronze/events rows of the days to build (a subset of `bronze_all`).
        bronze_all: all of bronze/events; only the event_id and ingest-position columns are read.

    Returns:
        The SILVER_EVENTS columns, payloads upcast to the latest version, sorted by
        (event_date, event_time, event_id).
    """
    wanted = bronze_days.select("event_id").unique()
    copies = bronze_all.select(INGEST_POSITION).join(wanted, on="event_id", how="semi")
    return clean(bronze_days, losing_copies(copies))


def range_losers(bronze: pl.LazyFrame, first: date, last: date) -> pl.DataFrame:
    """The ingest positions of the losing copies among the bronze rows of days [first, last].

    The same answer as `losing_copies` over every copy of the range's ids, computed cheaply:
    only ids that repeat inside the range, or that also occur outside it, can have a losing
    copy, so only those ids' positions are sorted. Ids are first compared by a 64-bit hash
    (8 bytes instead of a string per row); a hash shared by different ids only adds a
    candidate, which the exact comparison of `losing_copies` then keeps.
    """
    in_range = pl.col("event_date").is_between(first, last)
    hashes = bronze.filter(in_range).select(h=_id_hash).collect()
    repeated = hashes.filter(pl.col("h").is_duplicated()).get_column("h").unique()
    outside = (
        bronze.filter(~in_range)
        .select(*INGEST_POSITION, h=_id_hash)
        .filter(pl.col("h").is_in(hashes.get_column("h").implode()))
        .collect()
    )
    candidates = pl.concat([repeated, outside.get_column("h")]).unique()
    if candidates.is_empty():
        return pl.DataFrame(schema=outside.drop("h").schema)
    inside = (
        bronze.filter(in_range)
        .select(*INGEST_POSITION, h=_id_hash)
        .filter(pl.col("h").is_in(candidates.implode()))
    )
    return losing_copies(pl.concat([inside, outside.lazy()])).collect()


def built_from(settings: Settings, first: date, last: date) -> int | None:
    """Returns the bronze version that silver's days [first, last] were all last built from.

    Every write of silver/events records, per day, the bronze version it reflects as a Delta
    `txn` (app id `SILVER_APP_ID`). None when the days differ or one has no record.
    """
    silver = lake.open_table(settings, SILVER_EVENTS)
    days = {lake.txn_of(silver, silver_day_app_id(day)) for day in days_between(first, last)}
    return days.pop() if len(days) == 1 else None


def build(
    settings: Settings,
    bronze: pl.LazyFrame,
    first: date,
    last: date,
    version: int | None,
    phases: Phases | None = None,
) -> int:
    """Rebuilds silver's days [first, last] from `bronze` (read at `version`); returns the rows.

    `phases` gains the first-copy rule over the log (`dedup`), reading the days' bronze rows
    (`bronze_read`), cleaning them (`clean`) and the Delta writes (`write`).
    """
    started_ns = time.time_ns()
    phases = phases or Phases()
    losers = range_losers(bronze, first, last).lazy()
    phases.lap("dedup")
    rows = 0
    # Chunks of days bound the memory of a long range (a rebuild of months in one run).
    for a, b in day_chunks(first, last, CHUNK_DAYS):
        day_rows = bronze.filter(pl.col("event_date").is_between(a, b)).collect()
        phases.lap("bronze_read")
        # In memory, the in-memory engine cleans faster than the streaming one (measured on
        # 2 cores: 2.5 s against 4.4 s for 700,000 rows; docs/benchmarks.md).
        frame = clean(day_rows.lazy(), losers).collect(engine="in-memory")
        del day_rows
        phases.lap("clean")
        built = (
            {} if version is None else {silver_day_app_id(d): version for d in days_between(a, b)}
        )
        lake.replace_days(settings, SILVER_EVENTS, frame, a, b, transactions=built)
        traced_events.record(frame, SILVER_EVENTS.name, started_ns)
        rows += frame.height
        phases.lap("write")
    return rows


def build_incrementally(
    settings: Settings, table: DeltaTable, bronze: pl.LazyFrame, first: date, last: date
) -> int | None:
    """Appends to silver's days [first, last] what bronze gained since they were last built.

    Args:
        table: bronze/events at the version `bronze` reads.

    Returns:
        The rows appended, or None when only a rebuild can tell: the days were built from
        different versions or never recorded one, bronze was rewritten since (compaction,
        retention), or a new copy displaces one that silver holds (an earlier `ingested_at`
        arriving later, possible with several ingesters).
    """
    started_ns = time.time_ns()
    base = built_from(settings, first, last)
    if base is None or base > table.version():
        return None
    if base == table.version():
        return 0
    new = lake.added_since(settings, BRONZE_EVENTS, table, base)
    if new is None:
        return None
    frame = appended_rows(new, bronze, first, last)
    if frame is None:
        return None
    if frame.height:
        built = {silver_day_app_id(d): table.version() for d in days_between(first, last)}
        lake.append(settings, SILVER_EVENTS, frame, offsets=built)
        traced_events.record(frame, SILVER_EVENTS.name, started_ns)
    return frame.height


def appended_rows(
    new: pl.LazyFrame, bronze: pl.LazyFrame, first: date, last: date
) -> pl.DataFrame | None:
    """The silver rows of days [first, last] that the bronze rows `new` add (None: see below).

    Args:
        new: the bronze rows added since silver was built (of any day).
        bronze: all of bronze, `new` included.

    Returns:
        The winning copies among `new` of days [first, last], cleaned; None when a copy in
        `new` wins over an older copy of its id (silver holds that one: rebuild instead).
    """
    added = new.collect()  # read once: the positions below, the rows to clean at the end
    if added.is_empty():
        return SILVER_EVENTS.empty()
    hashes = added.select(h=_id_hash).get_column("h").unique()
    copies = (
        bronze.select(*INGEST_POSITION, h=_id_hash)
        .filter(pl.col("h").is_in(hashes.implode()))
        .drop("h")
        .join(added.select(INGEST_POSITION).with_columns(new=pl.lit(True)).lazy(),
              on=list(INGEST_POSITION), how="left", nulls_equal=True)
        .with_columns(pl.col("new").fill_null(False))
        .collect()
    )  # fmt: skip
    losers = losing_copies(copies.lazy()).collect()
    winners = copies.join(losers, on=list(INGEST_POSITION), how="anti", nulls_equal=True)
    held = copies.filter(~pl.col("new")).select("event_id").unique()
    if not winners.filter(pl.col("new")).join(held, on="event_id", how="semi").is_empty():
        return None
    in_range = pl.col("event_date").is_between(first, last)
    return clean(added.lazy().filter(in_range), losers.lazy()).collect()


def day_chunks(first: date, last: date, days: int) -> list[tuple[date, date]]:
    """Returns [first, last] cut into consecutive ranges of at most `days` days."""
    chunks = []
    start = first
    while start <= last:
        end = min(last, start + timedelta(days=days - 1))
        chunks.append((start, end))
        start = end + timedelta(days=1)
    return chunks


def _upcast_batch(rows: pl.Series) -> pl.Series:
    """Returns each row's payload (JSON text) upcast to its type's latest version."""
    decode = msgspec.json.decode
    out = [
        to_json(upcast(REGISTRY[row["event_type"]], row["schema_version"], decode(row["payload"])))
        for row in rows.to_list()
    ]
    return pl.Series(out, dtype=pl.String)


def check_days(
    settings: Settings, bronze: pl.LazyFrame, first: date, last: date
) -> list[dg.AssetCheckResult]:
    """Returns the silver checks over days [first, last], just written from `bronze`.

    Ids are compared by 64-bit hash (`_id_hash`) to keep a rebuild of months light; a repeated
    hash is confirmed on the ids themselves before `unique_event_id` fails.
    """
    in_range = pl.col("event_date").is_between(first, last)
    silver = lake.scan(settings, SILVER_EVENTS)
    days = silver.filter(in_range).select(event_id=_id_hash, event_date="event_date").collect()
    bronze_ids = (
        bronze.filter(in_range, pl.col("registered"))
        .join(registered_versions(), on=["event_type", "schema_version"])
        .select(event_id=_id_hash, event_date="event_date")
        .unique()
        .collect()
    )
    wanted = pl.concat([bronze_ids.get_column("event_id"), days.get_column("event_id")])
    elsewhere = (
        silver.filter(~in_range)
        .select(event_id=_id_hash)
        .filter(pl.col("event_id").is_in(wanted.implode()))
        .collect()
    )
    suspects = checks.repeated_event_ids(days.lazy(), elsewhere.lazy()).collect()
    repeated = (
        silver.filter(_id_hash.is_in(suspects.get_column("event_id").implode()))
        .select("event_id")
        .filter(pl.col("event_id").is_duplicated())
        .unique()
        .collect()
    )
    mismatched = checks.bronze_mismatches(days.lazy(), bronze_ids.lazy(), elsewhere.lazy())
    key = SILVER_EVENTS.asset_key
    return [
        checks.result(checks.UNIQUE_EVENT_ID, key, repeated),
        checks.result(checks.MATCHES_BRONZE, key, mismatched.collect()),
    ]


def silver_events_asset(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """Returns the Dagster asset that builds silver/events for a run's range of days."""

    @dg.asset(
        partitions_def=partitions_def,
        deps=[BRONZE_EVENTS_SOURCE.key],
        check_specs=[
            checks.spec(
                checks.UNIQUE_EVENT_ID,
                SILVER_EVENTS.asset_key,
                "No event_id twice in silver/events, across all days.",
                blocking=True,
            ),
            checks.spec(
                checks.MATCHES_BRONZE,
                SILVER_EVENTS.asset_key,
                "Per day: silver rows = distinct registered bronze ids of the day, minus "
                "those whose earliest copy lies on another day.",
                blocking=True,
            ),
        ],
        **day_asset_spec_kwargs(SILVER_EVENTS),
    )
    def silver_events_days(
        context,
    ) -> dg.MaterializeResult:  # Dagster rejects a string-annotated context
        settings = lake_settings(context)
        phases = Phases()
        first, last = run_days(context)
        table = lake.open_table(settings, BRONZE_EVENTS)
        # Pin one bronze version: the day rows and the dedup over all rows must agree.
        version = table.version() if table is not None else None
        bronze = lake.scan(settings, BRONZE_EVENTS, version=version)
        rows = None
        if table is not None and context.run.tags.get(INCREMENTAL_TAG) == "1":
            rows = build_incrementally(settings, table, bronze, first, last)
            phases.lap("incremental")
        if rows is None:
            rows = build(settings, bronze, first, last, version, phases)
        read = {} if version is None else {"bronze_version": version}
        found = check_days(settings, bronze, first, last)
        phases.lap("checks")
        return day_result(settings, SILVER_EVENTS, rows, first, last, found, phases, **read)

    return silver_events_days
