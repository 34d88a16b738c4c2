"""The rules every part reads the bronze log by: Delta txn app ids, the first copy of a duplicate,
the bucket of an event id in silver/event_index.

Each has this one home; the ingester writes by them, and silver, the audits, replay, retention
and the command line read by them (docs/architecture.md, "Ingestion: exactly once").
"""

from __future__ import annotations

import json
from datetime import date

import polars as pl

# The order of the copies of one event_id in bronze: the first is the one silver keeps.
WINNER_ORDER = ("ingested_at", "kafka_topic", "kafka_partition", "kafka_offset")

SILVER_APP_ID = "eventlake-silver"  # txn app id prefix: the bronze version a silver day reflects
REPLAY_APP_ID = "eventlake-replay"  # txn app id of replay commits; its version counts them
RETENTION_APP_ID = "eventlake-retention"  # txn app id: the last retirement pass that committed


def offset_app_id(topic: str, partition: int) -> str:
    """Returns the Delta txn app id that records the ingester's offset of one partition."""
    return f"eventlake-ingest/{topic}/{partition}"


def topic_app_id(topic: str) -> str:
    """Returns the Delta txn app id that records which incarnation of `topic` bronze follows."""
    return f"eventlake-ingest-topic/{topic}"


def silver_day_app_id(day: date) -> str:
    """Returns the txn app id that records which bronze version silver's `day` reflects."""
    return f"{SILVER_APP_ID}/{day.isoformat()}"


# silver/event_index is partitioned by this many buckets of the id: a look-up reads one.
EVENT_ID_BUCKETS = 31


def event_id_bucket(event_id: pl.Expr) -> pl.Expr:
    """Returns the silver/event_index bucket of an id: its last two UTF-8 bytes as a number,
    modulo `EVENT_ID_BUCKETS` (31 is prime, so both bytes count).

    A pure function of the id's bytes, never a library's hash, whose values may change between
    versions and so strand a stored index. Every id of the wire format is non-empty; an empty
    one would fall in bucket 0.
    """
    last_two = event_id.str.encode("hex").str.tail(4).str.to_integer(base=16, strict=False)
    return (last_two.fill_null(0) % EVENT_ID_BUCKETS).cast(pl.Int32)


# Commit metadata of a gold day table's write: the bronze version its input reflects, per day
# (docs/operations.md, "Event to gold latency"). JSON of [first_day, last_day, version] runs.
GOLD_BRONZE_KEY = "eventlake.bronze_versions"


def encode_day_versions(versions: dict[date, int]) -> str:
    """Returns `versions` (day -> bronze version) as JSON runs of consecutive days sharing one
    version, `[["2026-12-01", "2026-12-03", 41], ...]`: a rebuild of months is one run."""
    runs: list[list] = []
    for day in sorted(versions):
        version = versions[day]
        last = runs[-1] if runs else None
        if last is not None and last[2] == version and (day - last[1]).days == 1:
            last[1] = day
        else:
            runs.append([day, day, version])
    return json.dumps([[a.isoformat(), b.isoformat(), v] for a, b, v in runs])


def decode_day_versions(text: str) -> list[tuple[date, date, int]]:
    """Returns the runs of `encode_day_versions` as (first day, last day, bronze version)."""
    return [(date.fromisoformat(a), date.fromisoformat(b), int(v)) for a, b, v in json.loads(text)]
