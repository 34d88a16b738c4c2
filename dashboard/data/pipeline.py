"""What the Pipeline health page reads: ingest batches, offsets, dead letters, table states.

bronze/ingest_batches holds one row per committed micro-batch (timings, counts, the offset
range per partition); bronze/dead_letters one row per rejected message; every table's Delta
log says its version, files and last commit. No Streamlit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl

from dashboard.data import reads
from dashboard.data.lake_state import last_data_commit
from dashboard.data.scope import Scope
from eventlake import lake
from eventlake.catalog import (
    BRONZE_DEAD_LETTERS,
    BRONZE_EVENTS,
    BRONZE_INGEST_BATCHES,
    TABLES,
    TableSpec,
)
from eventlake.log_rules import offset_app_id
from eventlake.settings import Settings

_RANGES = pl.List(
    pl.Struct({"topic": pl.String, "partition": pl.Int64, "first": pl.Int64, "last": pl.Int64})
)
MAX_PARTITIONS = 256
DEAD_LETTERS_SHOWN = 50  # the newest dead letters the Pipeline health page lists
_LATENCY_MS = (pl.col("committed_at") - pl.col("started_at")).dt.total_microseconds() / 1000


def ingest_minutes(settings: Settings, scope: Scope) -> pl.DataFrame:
    """Returns one row per minute with batches committed since the scope's `since` (UTC), as of
    its moment, oldest first.

    Columns: minute, batches, events, dead_letters, events_per_s (over the minute),
    p50_latency_ms and p90_latency_ms (batch start to commit), decode_ms and write_ms (means).
    """
    frame = _since(lake.scan(settings, BRONZE_INGEST_BATCHES, version=scope.as_of), scope)
    per_minute = (
        frame.with_columns(latency_ms=_LATENCY_MS)
        .group_by(minute=pl.col("committed_at").dt.truncate("1m"))
        .agg(
            batches=pl.len(),
            events=pl.col("events").sum(),
            dead_letters=pl.col("dead_letters").sum(),
            p50_latency_ms=pl.col("latency_ms").quantile(0.5, interpolation="linear"),
            p90_latency_ms=pl.col("latency_ms").quantile(0.9, interpolation="linear"),
            decode_ms=pl.col("decode_ms").mean(),
            write_ms=pl.col("write_ms").mean(),
        )
        .with_columns(events_per_s=pl.col("events") / 60.0)
        .sort("minute")
    )
    return reads.collect(BRONZE_INGEST_BATCHES, per_minute)


def partition_offsets(settings: Settings, scope: Scope) -> pl.DataFrame:
    """Returns one row per topic-partition bronze holds: `topic`, `partition`, `bronze_offset`
    (the last offset committed) and `last_commit` (of the last batch that moved it since the
    scope's `since`; null when none did), as of the scope's moment.

    The offset of record is the Delta `txn` of the partition in bronze/events (what the
    ingester resumes from); a partition without one falls back to the batches' offset ranges.
    Only the batches committed since `since` are decoded: the table grows with every batch.
    """
    recent = _recent_ranges(settings, scope)
    table = lake.open_table(settings, BRONZE_EVENTS, version=scope.as_of)
    topics = list(dict.fromkeys([*settings.topics, *recent["topic"].to_list()]))
    rows = []
    for topic in topics:
        seen = set(recent.filter(pl.col("topic") == topic)["partition"].to_list())
        misses, partition = 0, 0
        # Partitions are numbered from 0: probe until a few in a row are unknown to both.
        while partition < MAX_PARTITIONS and (misses < 4 or partition <= max(seen, default=-1)):
            version = lake.txn_of(table, offset_app_id(topic, partition))
            if version is None and partition not in seen:
                misses += 1
            else:
                misses = 0
                rows.append((topic, partition, version))
            partition += 1
    txn = pl.DataFrame(
        rows, schema={"topic": pl.String, "partition": pl.Int64, "txn": pl.Int64}, orient="row"
    )
    return (
        txn.join(recent, on=["topic", "partition"], how="left")
        .select(
            "topic", "partition",
            bronze_offset=pl.coalesce("txn", "last"),
            last_commit="last_commit",
        )
        .sort("topic", "partition")
    )  # fmt: skip


def _since(batches: pl.LazyFrame, scope: Scope) -> pl.LazyFrame:
    """The batches committed since the scope's `since` (all when None)."""
    if scope.since is None:
        return batches
    return batches.filter(pl.col("committed_at") >= scope.since)


def _recent_ranges(settings: Settings, scope: Scope) -> pl.DataFrame:
    """The last offset and commit time per topic-partition of the batches since `since`."""
    rows = (
        _since(lake.scan(settings, BRONZE_INGEST_BATCHES, version=scope.as_of), scope)
        .select("committed_at", pl.col("offset_ranges").str.json_decode(_RANGES))
        .explode("offset_ranges")
        .unnest("offset_ranges")
        .drop_nulls("topic")
        .group_by("topic", "partition")
        .agg(last=pl.col("last").max(), last_commit=pl.col("committed_at").max())
    )
    return reads.collect(BRONZE_INGEST_BATCHES, rows)


def dead_letters_by_code(settings: Settings, scope: Scope) -> pl.DataFrame:
    """Returns one row per error code (as of the scope's moment): `error_code`, `rows`,
    `last_seen`; most rows first."""
    frame = (
        lake.scan(settings, BRONZE_DEAD_LETTERS, version=scope.as_of)
        .group_by("error_code")
        .agg(rows=pl.len(), last_seen=pl.col("ingested_at").max())
    )
    return reads.collect(
        BRONZE_DEAD_LETTERS, frame.sort(["rows", "error_code"], descending=[True, False])
    )


def recent_dead_letters(settings: Settings, scope: Scope) -> pl.DataFrame:
    """Returns one row per dead letter of the newest `DEAD_LETTERS_SHOWN` (as of the scope's
    moment): where it came from, the code, the detail, and the first 200 bytes of the raw
    message as text (invalid UTF-8 replaced)."""
    frame = lake.scan(settings, BRONZE_DEAD_LETTERS, version=scope.as_of).sort(
        "ingested_at", descending=True
    )
    rows = reads.collect(BRONZE_DEAD_LETTERS, frame.head(DEAD_LETTERS_SHOWN))
    raw = [None if b is None else b[:200].decode("utf-8", "replace") for b in rows["raw"]]
    return rows.select(
        "ingested_at", "kafka_topic", "kafka_partition", "kafka_offset", "error_code",
        "error_detail", raw=pl.Series(raw, dtype=pl.String),
    )  # fmt: skip


@dataclass(frozen=True)
class TableState:
    """One table of the catalog: its Delta version, files, bytes and newest data commit."""

    table: str
    layer: str
    version: int | None  # None: the table does not exist (yet)
    files: int
    size_bytes: int
    last_commit: datetime | None


def table_state(settings: Settings, spec: TableSpec, as_of: datetime | None) -> TableState:
    """Returns the table's state now, or as of `as_of` (files and bytes of that version)."""
    table = lake.open_table(settings, spec, version=as_of)
    if table is None:
        return TableState(spec.name, spec.layer, None, 0, 0, None)
    if as_of is None:
        newest = last_data_commit(spec, table).last_commit
    else:
        newest = reads.commit_time(settings, spec, table.version())
    files = lake.data_files(table, spec)
    size = files.get_column("size_bytes").sum() if files.height else 0
    return TableState(spec.name, spec.layer, table.version(), files.height, int(size or 0), newest)


def table_states(settings: Settings, scope: Scope) -> pl.DataFrame:
    """Returns one row per catalog table as of the scope's moment: table, layer, version, files,
    size_mb, last_commit."""
    states = [table_state(settings, spec, scope.as_of) for spec in TABLES]
    return pl.DataFrame(
        {
            "table": [s.table for s in states],
            "layer": [s.layer for s in states],
            "version": [s.version for s in states],
            "files": [s.files for s in states],
            "size_mb": [round(s.size_bytes / 2**20, 2) for s in states],
            "last_commit": [s.last_commit for s in states],
        },
        schema={
            "table": pl.String, "layer": pl.String, "version": pl.Int64, "files": pl.Int64,
            "size_mb": pl.Float64, "last_commit": pl.Datetime("us", "UTC"),
        },
    )  # fmt: skip


def recent_window(now: datetime, minutes: int = 60) -> datetime:
    """Returns the start of the last `minutes` minutes, to the minute (so that the reads of
    one minute share a cache entry)."""
    return now.replace(second=0, microsecond=0) - timedelta(minutes=minutes)


def existing_tables(settings: Settings, scope: Scope) -> list[str]:
    """Returns the names of the catalog's tables that exist now (whatever the scope), in
    catalog order."""
    return [spec.name for spec in TABLES if lake.open_table(settings, spec) is not None]
