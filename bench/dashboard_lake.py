"""The 10M-event lake the dashboard benchmark reads: built once by the projection benchmark's own
phases (bench/events.py generates bronze, `materialize_days` builds silver and gold), then kept
and reused. The tables bench/events.py does not make (ingest batches, dead letters, the
restatement ledger, reconciliation results) are added here with realistic sizes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from eventlake import lake
from eventlake.catalog import (
    AUDIT_RECONCILIATION,
    AUDIT_RESTATEMENTS,
    BRONZE_DEAD_LETTERS,
    BRONZE_EVENTS,
    BRONZE_INGEST_BATCHES,
    GOLD_DAILY_ACTIVE_USERS,
    GOLD_FUNNEL_DAILY,
    GOLD_REVENUE_DAILY,
    SILVER_EVENT_INDEX,
    TABLES,
)
from eventlake.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
BATCH_EVERY_S = 2  # one micro-batch every 2 s ...
BATCH_DAYS = 3  # ... for three days: ~130,000 bronze/ingest_batches rows
DEAD_LETTERS = 5_000
CODES = ("not_json", "not_an_object", "missing_field", "invalid_field", "timestamp_out_of_range",
         "unknown_schema_version", "payload_invalid", "too_large")  # fmt: skip


def _phase(phase: str, workdir: Path, events: int, days: int) -> None:
    """Runs one phase of the projection benchmark (bench/phases.py) in a fresh process."""
    env = {**os.environ, "DAGSTER_HOME": str(workdir / "dagster"), "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "bench.phases", phase, str(workdir),
           "--events", str(events), "--days", str(days)]  # fmt: skip
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-4000:])
        raise SystemExit(f"bench.phases {phase} failed")


def ensure_lake(workdir: Path, settings: Settings, events: int, days: int) -> str:
    """Builds the lake unless `workdir` already holds one of this shape; returns what it did."""
    shape = {"events": events, "days": days}
    marker = workdir / "dashboard-shape.json"
    if marker.exists() and json.loads(marker.read_text()) == shape:
        if lake.open_table(settings, SILVER_EVENT_INDEX) is None:  # kept from before the index
            _index(workdir, settings)
        return f"reused {settings.lake_root}"
    (workdir / "dagster").mkdir(parents=True, exist_ok=True)
    for table in TABLES:  # a half-built or other-shaped lake is rebuilt from scratch
        path = Path(settings.lake_root) / table.name
        if path.exists():
            subprocess.run(["rm", "-rf", str(path)], check=True)
    for phase in ("generate", "full"):
        print(f"  building the lake: bench.phases {phase} ...", file=sys.stderr, flush=True)
        _phase(phase, workdir, events, days)
    add_side_tables(settings, datetime.now(UTC))
    marker.write_text(json.dumps(shape))
    return f"built {settings.lake_root}"


def _index(workdir: Path, settings: Settings) -> None:
    """Materializes silver/event_index over every day of bronze (one range run)."""
    import dagster as dg

    from orchestration.materialize import materialize_days

    print("  building silver/event_index ...", file=sys.stderr, flush=True)
    days = lake.scan(settings, BRONZE_EVENTS).select(
        first=pl.col("event_date").min(), last=pl.col("event_date").max()
    )
    first, last = days.collect().row(0)
    os.environ.setdefault("DAGSTER_HOME", str(workdir / "dagster"))
    with dg.DagsterInstance.get() as instance:
        materialize_days(settings, first, last, tables=[SILVER_EVENT_INDEX], instance=instance)


def _batches(now: datetime) -> pl.DataFrame:
    n = BATCH_DAYS * 86_400 // BATCH_EVERY_S
    rng = np.random.default_rng(5)
    committed = pl.datetime_range(
        now - timedelta(seconds=(n - 1) * BATCH_EVERY_S), now,
        timedelta(seconds=BATCH_EVERY_S), time_zone="UTC", eager=True,
    )  # fmt: skip
    events = rng.integers(5_000, 15_000, n)
    ends = np.cumsum(events) // 12
    ranges = [
        json.dumps([{"topic": t, "partition": p, "first": int(a), "last": int(b)}
                    for t in ("user_events", "commerce_events") for p in range(6)])
        for a, b in zip(np.concatenate([[0], ends[:-1]]), ends - 1, strict=True)
    ]  # fmt: skip
    latency = rng.gamma(4.0, 60.0, n)
    return pl.DataFrame(
        {
            "batch_id": [f"b{i}" for i in range(n)], "consumer_id": "bench",
            "started_at": committed - pl.Series(latency * 1000).cast(pl.Duration("us")),
            "committed_at": committed, "events": events, "dead_letters": 0,
            "bytes": events * 250, "offset_ranges": ranges, "events_version": np.arange(n),
            "lag": rng.integers(0, 2_000, n), "decode_ms": latency * 0.3, "write_ms": latency * 0.6,
        }
    ).cast(BRONZE_INGEST_BATCHES.schema)  # fmt: skip


def _dead_letters(now: datetime) -> pl.DataFrame:
    rng = np.random.default_rng(6)
    codes = rng.choice(len(CODES), DEAD_LETTERS, p=[0.3, 0.05, 0.15, 0.2, 0.1, 0.05, 0.14, 0.01])
    return pl.DataFrame(
        {
            "kafka_topic": "user_events", "kafka_partition": rng.integers(0, 6, DEAD_LETTERS),
            "kafka_offset": np.arange(DEAD_LETTERS), "kafka_timestamp": now,
            "key": [f"u{i}".encode() for i in rng.integers(0, 400_000, DEAD_LETTERS)],
            "raw": [b'{"event_id": "broken' for _ in range(DEAD_LETTERS)],
            "error_code": [CODES[c] for c in codes], "error_detail": "bench",
            "ingested_at": [now - timedelta(seconds=int(s))
                            for s in rng.integers(0, 86_400 * BATCH_DAYS, DEAD_LETTERS)],
        }
    ).cast(BRONZE_DEAD_LETTERS.schema)  # fmt: skip


def _audit(settings: Settings, now: datetime) -> tuple[pl.DataFrame, pl.DataFrame]:
    days = lake.scan(settings, GOLD_DAILY_ACTIVE_USERS).select("day").collect()["day"].sort()
    tables = [GOLD_DAILY_ACTIVE_USERS.name, GOLD_REVENUE_DAILY.name, GOLD_FUNNEL_DAILY.name]
    rows = []
    for i, day in enumerate(days.to_list()):
        for table in tables:
            key = '{"currency":"EUR"}' if table == GOLD_REVENUE_DAILY.name else "{}"
            column = {GOLD_REVENUE_DAILY.name: "revenue", GOLD_FUNNEL_DAILY.name: "viewed"}.get(
                table, "dau"
            )
            rows.append({"restated_at": now - timedelta(days=len(days) - i), "table": table,
                         "day": day, "key": key, "column": column, "old_value": 100.0 + i,
                         "new_value": 101.0 + i, "old_version": 1, "new_version": 2,
                         "cause": "late_events", "run_id": f"r{i}"})  # fmt: skip
    checks = [
        {"checked_at": now - timedelta(days=run), "run_id": f"n{run}", "table": table, "day": day,
         "rows_compared": 100, "mismatches": int(run == 0 and day == days[-1]),
         "max_abs_difference": 0.0, "healed": True}
        for run in range(30) for table in tables for day in days.to_list()
    ]  # fmt: skip
    return (
        pl.DataFrame(rows).cast(AUDIT_RESTATEMENTS.schema).select(AUDIT_RESTATEMENTS.schema.names()),
        pl.DataFrame(checks).cast(AUDIT_RECONCILIATION.schema).select(AUDIT_RECONCILIATION.schema.names()),
    )  # fmt: skip


def add_side_tables(settings: Settings, now: datetime) -> None:
    """Writes the ingest batches, dead letters, restatements and reconciliation results."""
    lake.replace_all(settings, BRONZE_INGEST_BATCHES, _batches(now))
    lake.replace_all(settings, BRONZE_DEAD_LETTERS, _dead_letters(now))
    restatements, reconciliation = _audit(settings, now)
    lake.replace_all(settings, AUDIT_RESTATEMENTS, restatements)
    lake.replace_all(settings, AUDIT_RECONCILIATION, reconciliation)


def refresh_batches(settings: Settings, now: datetime) -> None:
    """Re-dates the ingest batches so that the last hour holds some (a reused lake ages)."""
    lake.replace_all(settings, BRONZE_INGEST_BATCHES, _batches(now))


def busiest_recent_day(settings: Settings, last: date) -> date:
    """Returns the day of the last three with the most active users: the "today" timed live
    (the generated data ends months ago, so the real today has no events)."""
    frame = lake.scan_days(settings, GOLD_DAILY_ACTIVE_USERS, last - timedelta(days=2), last)
    return frame.sort("dau", descending=True).select("day").head(1).collect().item()
