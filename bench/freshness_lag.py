"""Event-to-gold latency, computed from the lake and the Dagster event log after a run.

An event counts in gold once a run that rebuilt its day from a bronze version holding the event
has committed every day-partitioned gold table of that day:

1. its bronze version: bronze/ingest_batches records, per committed micro-batch, the Kafka
   offset ranges it wrote and the Delta version of that commit;
2. which runs read it: each silver/events materialization records the bronze version it read
   (metadata `bronze_version`) and its day partition;
3. when gold was committed: the latest materialization of a gold day table for that day in the
   same run (logged right after the Delta commit and the restatement ledger write).

Latency = that moment minus the Kafka produce timestamp (bronze `kafka_timestamp`, set by the
producer's client at produce time). In production the same figure comes from the lake alone
(operations/freshness.py: each gold commit records the bronze version it counted), whose
join of events to commits this module shares.
"""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import polars as pl

from eventlake import lake
from eventlake.catalog import BRONZE_EVENTS, BRONZE_INGEST_BATCHES, GOLD_DAY_TABLES, SILVER_EVENTS
from eventlake.settings import Settings
from operations.freshness import in_bronze_versions
from operations.freshness import latencies as latencies  # re-exported: the same join

GOLD_DAY_KEYS = [dg.AssetKey(t.asset_key) for t in GOLD_DAY_TABLES]
_PAGE = 10_000


def produced(settings: Settings, since: datetime, until: datetime) -> pl.DataFrame:
    """One row per registered bronze event produced in [since, until): its day, produce time
    (epoch seconds) and the bronze version that holds it (every copy, as the load sent it)."""
    events = (
        lake.scan(settings, BRONZE_EVENTS)
        .filter(
            pl.col("registered"),
            pl.col("kafka_timestamp").is_between(since, until, closed="left"),
        )
        .select(
            "event_date",
            "kafka_topic",
            "kafka_partition",
            "kafka_offset",
            produced_s=pl.col("kafka_timestamp").dt.epoch("us") / 1e6,
        )
        .collect()
    )
    return in_bronze_versions(events, lake.scan(settings, BRONZE_INGEST_BATCHES))


def materializations(instance: dg.DagsterInstance, key: dg.AssetKey) -> list[dg.EventLogRecord]:
    """Returns every materialization of `key` in the instance."""
    records: list[dg.EventLogRecord] = []
    cursor = None
    while True:
        page = instance.fetch_materializations(key, limit=_PAGE, cursor=cursor)
        records.extend(page.records)
        if not page.has_more:
            return records
        cursor = page.cursor


def gold_commits(instance: dg.DagsterInstance) -> pl.DataFrame:
    """One row per (run, day) that rebuilt silver/events of the day and then every gold day
    table: the bronze version it read and when its last gold table of the day was committed."""
    silver = []
    for record in materializations(instance, dg.AssetKey(SILVER_EVENTS.asset_key)):
        entry = record.event_log_entry
        meta = entry.asset_materialization.metadata if entry.asset_materialization else {}
        version = meta.get("bronze_version")
        if version is not None and entry.dagster_event and entry.dagster_event.partition:
            silver.append((entry.run_id, entry.dagster_event.partition, int(version.value)))
    gold = [
        (r.event_log_entry.run_id, r.event_log_entry.dagster_event.partition, r.timestamp)
        for key in GOLD_DAY_KEYS
        for r in materializations(instance, key)
        if r.event_log_entry.dagster_event and r.event_log_entry.dagster_event.partition
    ]
    runs = pl.DataFrame(
        silver, schema={"run_id": pl.String, "day": pl.String, "bronze_version": pl.Int64},
        orient="row",
    )  # fmt: skip
    done = (
        pl.DataFrame(
            gold,
            schema={"run_id": pl.String, "day": pl.String, "committed_s": pl.Float64},
            orient="row",
        )
        .group_by("run_id", "day")
        .agg(pl.col("committed_s").max(), tables=pl.len())
        .filter(pl.col("tables") == len(GOLD_DAY_KEYS))
    )
    return runs.join(done, on=["run_id", "day"]).with_columns(
        pl.col("day").str.to_date(), pl.col("bronze_version").cast(pl.Int64)
    )


def summary(lat: pl.DataFrame) -> dict[str, float | int | None]:
    """Returns the event count, how many are not in gold, and p50/p99/max latency in seconds
    (an event not in gold counts as infinitely late)."""
    missing = lat.get_column("latency_s").null_count()
    values = lat.get_column("latency_s").fill_null(float("inf"))
    if values.is_empty():
        return {"events": 0, "not_in_gold": 0, "p50_s": None, "p99_s": None, "max_s": None}
    return {
        "events": lat.height,
        "not_in_gold": missing,
        "p50_s": float(values.quantile(0.5, "higher")),
        "p99_s": float(values.quantile(0.99, "higher")),
        "max_s": float(values.max()),
    }


def now_s() -> float:
    """Returns the wall clock in epoch seconds (the clock Kafka timestamps use)."""
    return datetime.now(UTC).timestamp()
