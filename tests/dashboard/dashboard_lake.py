"""A simulated lake for the dashboard tests, built through the real code paths without a broker.

The simulator's pure message stream (`ingest.simulator.messages`) is cut into Kafka messages on
six partitions, decoded by the ingester's `ingest.decode.rows.decode`, appended batch by batch to
bronze/events and bronze/dead_letters with `eventlake.lake` (one Delta commit each, so the
tables have a history to travel through), with one bronze/ingest_batches row per batch; then
`orchestration.materialize.materialize_days` builds silver and gold through Dagster, today
included.
"""

from __future__ import annotations

import json
import time
import uuid
import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import islice

import dagster as dg
import polars as pl
from confluent_kafka import TIMESTAMP_CREATE_TIME, Message

from eventlake import lake
from eventlake.catalog import BRONZE_DEAD_LETTERS, BRONZE_EVENTS, BRONZE_INGEST_BATCHES
from eventlake.settings import Settings
from ingest.decode.rows import decode
from ingest.simulator import SimulationOptions, messages
from orchestration.materialize import materialize_days

PARTITIONS = 6
BATCH = 1500


@dataclass(frozen=True)
class SimulatedLake:
    """What was built: the settings, the days with events, and the counts written."""

    settings: Settings
    first: date
    last: date
    events: int
    dead_letters: int
    batches: int


def _kafka_messages(
    values: list[tuple[str, bytes | None, bytes]], ends: dict, now_ms: int
) -> list[Message]:
    """Assigns each (topic, key, value) to a partition by key, with the next offset there."""
    out = []
    for topic, key, value in values:
        partition = zlib.crc32(key or b"") % PARTITIONS
        offset = ends.get((topic, partition), 0)
        ends[(topic, partition)] = offset + 1
        out.append(
            Message(
                topic=topic,
                partition=partition,
                offset=offset,
                key=key,
                value=value,
                timestamp=(TIMESTAMP_CREATE_TIME, now_ms),
            )
        )
    return out


def _batch_row(msgs: list[Message], started: datetime, events: int, dead: int, version: int,
               decode_ms: float, write_ms: float) -> dict:  # fmt: skip
    ranges: dict[tuple[str, int], list[int]] = {}
    for m in msgs:
        span = ranges.setdefault((m.topic(), m.partition()), [m.offset(), m.offset()])
        span[1] = m.offset()
    return {
        "batch_id": uuid.uuid4().hex,
        "consumer_id": "dashboard-tests",
        "started_at": started,
        "committed_at": datetime.now(UTC),
        "events": events,
        "dead_letters": dead,
        "bytes": sum(len(m.value() or b"") for m in msgs),
        "offset_ranges": json.dumps(
            [
                {"topic": t, "partition": p, "first": a, "last": b}
                for (t, p), (a, b) in sorted(ranges.items())
            ]
        ),
        "events_version": version,
        "lag": 0,
        "decode_ms": decode_ms,
        "write_ms": write_ms,
    }


def ingest(
    settings: Settings, options: SimulationOptions, seed: int, ends: dict
) -> tuple[int, int, list[dict]]:
    """Decodes and appends the simulated messages batch by batch; returns (events, dead
    letters, bronze/ingest_batches rows)."""
    topics = settings.topics
    stream = messages(
        options, seed=seed, topics=topics, max_message_bytes=settings.max_message_bytes
    )
    rows, n_events, n_dead = [], 0, 0
    remaining = options.count
    while remaining > 0:
        chunk = list(islice(stream, min(BATCH, remaining)))
        remaining -= len(chunk)
        started = datetime.now(UTC)
        now_ms = int(time.time() * 1000)
        msgs = _kafka_messages([(m.topic, m.key, m.value) for m in chunk], ends, now_ms)
        t0 = time.perf_counter()
        batch = decode(msgs, now_ms=now_ms, max_bytes=settings.max_message_bytes,
                       ingested_at_us=now_ms * 1000)  # fmt: skip
        t1 = time.perf_counter()
        version = lake.append(settings, BRONZE_EVENTS, batch.events)
        if batch.dead_letters.height:
            lake.append(settings, BRONZE_DEAD_LETTERS, batch.dead_letters)
        t2 = time.perf_counter()
        rows.append(_batch_row(msgs, started, batch.events.height, batch.dead_letters.height,
                               version, (t1 - t0) * 1000, (t2 - t1) * 1000))  # fmt: skip
        n_events += batch.events.height
        n_dead += batch.dead_letters.height
    return n_events, n_dead, rows


def build(
    settings: Settings, *, count: int = 12_000, days: float = 10, live: int = 800, seed: int = 11
) -> SimulatedLake:
    """Fills an empty lake with `count` simulated messages over the last `days` days, some
    duplicated, late and malformed, then `live` messages stamped now (today's traffic), and
    materializes every asset up to today."""
    history = SimulationOptions(
        count=count, days=days, users=400, seed=seed, duplicates=0.01, late=0.005, malformed=0.005
    )
    ends: dict[tuple[str, int], int] = {}
    n_events, n_dead, rows = ingest(settings, history, seed, ends)
    if live:
        today = SimulationOptions(count=live, users=50, seed=seed + 1, duplicates=0.02)
        more_events, more_dead, more_rows = ingest(settings, today, seed + 1, ends)
        n_events, n_dead, rows = n_events + more_events, n_dead + more_dead, rows + more_rows
    lake.append(
        settings, BRONZE_INGEST_BATCHES, pl.DataFrame(rows, schema=BRONZE_INGEST_BATCHES.schema)
    )
    bounds = (
        lake.scan(settings, BRONZE_EVENTS)
        .select(pl.col("event_date").min().alias("a"), pl.col("event_date").max().alias("b"))
        .collect()
    )
    first, last = bounds["a"][0], bounds["b"][0]
    with dg.DagsterInstance.ephemeral() as instance:
        materialize_days(settings, first, last, instance=instance)
    return SimulatedLake(settings, first, last, n_events, n_dead, len(rows))
