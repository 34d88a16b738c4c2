"""The measured phases of bench/projections.py, each run in its own process.

`python -m bench.phases PHASE WORKDIR` prints one JSON line: the phase's wall seconds (only the
measured work: imports, data generation and cross-checks are outside the clock), its peak RSS,
what it did and, for the Dagster phases, where the time went (bench/breakdown.py).
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl

from bench import duckdb_reference
from bench.breakdown import breakdown
from bench.events import BenchShape, generate
from eventlake import lake
from eventlake.catalog import BRONZE_EVENTS
from eventlake.settings import Settings
from orchestration.definitions import build_definitions
from orchestration.followups import Lineage
from orchestration.jobs import INGESTED_DAYS_JOB
from orchestration.materialize import materialize_days
from orchestration.partitions import range_tags
from orchestration.sensors import followup_requests

SHAPE_FIRST_DAY = BenchShape().first_day
MAX_RUNS = 10  # the day's run, then its follow-ups, which end after one round (two runs)
ORDER = [
    "silver/sessions", "gold/revenue_daily", "gold/revenue_by_product", "gold/daily_active_users",
    "gold/sessions_daily", "gold/funnel_daily", "gold/product_performance", "gold/lifecycle_daily",
    "silver/users", "gold/cohort_retention", "gold/customer_rfm",
]  # fmt: skip


def cpu_seconds() -> float:
    """Returns the CPU time (user + system) this process has used so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    """Returns this process's peak resident set size in MiB (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def settings_for(workdir: Path, days: int) -> Settings:
    """Returns the settings of the benchmark lake (partitions start at the data's first day)."""
    return Settings.from_env(env={}, lake_root=str(workdir / "lake"), start_date=SHAPE_FIRST_DAY)


def late_day(days: int) -> date:
    """Returns the day that receives the late events: the middle of the data."""
    return SHAPE_FIRST_DAY + timedelta(days=days // 2)


def phase_generate(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    frame = generate(BenchShape(events=args.events, days=args.days))
    lake.append(settings, BRONZE_EVENTS, frame)
    return {"seconds": time.perf_counter() - started, "bronze_rows": frame.height}


def phase_full(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    first = SHAPE_FIRST_DAY
    last = lake.scan(settings, BRONZE_EVENTS).select(pl.col("event_date").max()).collect().item()
    with dg.DagsterInstance.get() as instance:
        before = set(instance.get_run_ids())
        started = time.perf_counter()
        report = materialize_days(settings, first, last, instance=instance)
        seconds = time.perf_counter() - started
        runs = [r for r in instance.get_run_ids() if r not in before]
        parts = breakdown(instance, runs, seconds)
    return {"seconds": seconds, "rows": report.rows, "first": str(first), "last": str(last),
            "breakdown": parts}  # fmt: skip


def late_events(settings: Settings, day: date, n: int = 2000) -> pl.DataFrame:
    """Returns `n` late bronze rows for `day`: new ids, times a little later, ingested now."""
    rows = lake.scan_days(settings, BRONZE_EVENTS, day, day).head(n).collect()
    now = datetime.now(UTC)
    return rows.with_columns(
        event_id=pl.lit("late-") + pl.col("event_id"),
        event_time=pl.col("event_time") + timedelta(seconds=1),
        kafka_offset=pl.col("kafka_offset") + 10**12,
        ingested_at=pl.lit(now),
        kafka_timestamp=pl.lit(now),
    ).filter(pl.col("event_time").dt.date() == day)


def phase_day(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    """One figure for a late day: the run the bronze_commits sensor requests for it (the
    `ingested_days` job over that day: silver and every day-partitioned table), then what the
    follow_ups sensor requests after it (the windows and whole tables that include the day),
    each run as the daemon launches it (one at a time), until no follow-up is left."""
    day = late_day(args.days)
    late = late_events(settings, day)
    lake.append(settings, BRONZE_EVENTS, late, metadata={lake.EVENT_DATES_KEY: str(day)})
    defs = build_definitions(settings)  # carries the lake resource, as the daemon's runs do
    partitions = daily_span(defs)
    lineage = Lineage.of(a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition))
    done: dict[str, set[str | None]] = {}
    runs: list[dict[str, Any]] = []
    run_ids: list[str] = []
    with dg.DagsterInstance.get() as instance:
        started = time.perf_counter()
        job = defs.resolve_job_def(INGESTED_DAYS_JOB)
        result = job.execute_in_process(instance=instance, tags=range_tags(day, day))
        assert result.success
        runs.append({"job": INGESTED_DAYS_JOB, "days": f"{day}..{day}", "assets": "all",
                     "seconds": round(time.perf_counter() - started, 2)})  # fmt: skip
        todo = [result.run_id]
        while todo:
            after = todo.pop(0)
            run_ids.append(after)
            for request in followup_requests(instance, after, settings, partitions, lineage,
                                             datetime.now(UTC)):  # fmt: skip
                began = time.perf_counter()
                result = defs.resolve_job_def(request.job_name or "").execute_in_process(
                    instance=instance, tags=request.tags, asset_selection=request.asset_selection
                )
                assert result.success, request.job_name
                runs.append(describe(request, time.perf_counter() - began))
                assert len(runs) <= MAX_RUNS, f"follow-ups do not end: {runs}"
                for event in result.get_asset_materialization_events():
                    if event.asset_key is not None:
                        key = event.asset_key.to_user_string()
                        done.setdefault(key, set()).add(event.partition)
                todo.append(result.run_id)
        seconds = time.perf_counter() - started
        parts = breakdown(instance, run_ids, seconds)
    # Per asset: the day partitions the follow-ups rewrote, or "whole" for an unpartitioned one.
    rewritten = {n: "whole" if done[n] == {None} else len(done[n]) for n in ORDER if n in done}
    return {"seconds": seconds, "day": str(day), "late_events": late.height, "runs": runs,
            "rematerialized_partitions": rewritten, "breakdown": parts}  # fmt: skip


def describe(request: dg.RunRequest, seconds: float) -> dict[str, Any]:
    """Returns one follow-up run as the report records it: job, day range, assets, wall."""
    tags = request.tags
    first = tags.get("dagster/asset_partition_range_start")
    last = tags.get("dagster/asset_partition_range_end")
    return {
        "job": request.job_name,
        "days": f"{first}..{last}" if first else None,
        "assets": [k.to_user_string() for k in request.asset_selection or []],
        "seconds": round(seconds, 2),
    }


def daily_span(defs: dg.Definitions) -> dg.DailyPartitionsDefinition:
    node = defs.resolve_asset_graph().get(dg.AssetKey(["silver", "events"]))
    assert isinstance(node.partitions_def, dg.DailyPartitionsDefinition)
    return node.partitions_def


def phase_duckdb(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    """The equal-work reference: DuckDB builds silver and every gold table from bronze and
    writes them as Delta (bench/duckdb_reference.py); then every table is compared whole."""
    out = Settings.from_env(env={}, lake_root=str(Path(args.workdir) / "duckdb-lake"))
    last = lake.scan(settings, BRONZE_EVENTS).select(pl.col("event_date").max()).collect().item()
    report = duckdb_reference.full(settings, out, SHAPE_FIRST_DAY, last)
    report["peak_rss_mb"] = peak_rss_mb()
    report["cross_check"] = duckdb_reference.compare(settings, out)
    return report


def phase_duckdb_day(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    """The equal-work reference of the day and its windows: DuckDB brings its lake up to date
    with the late day's bronze rows, rewriting only the days that read it; then every table is
    compared whole with the lake's after the day's run and its follow-ups."""
    out = Settings.from_env(env={}, lake_root=str(Path(args.workdir) / "duckdb-lake"))
    partitions_end = datetime.now(UTC).date()  # the windows after the day reach up to today
    report = duckdb_reference.day_update(
        settings, out, late_day(args.days), SHAPE_FIRST_DAY, partitions_end
    )
    report["peak_rss_mb"] = peak_rss_mb()
    report["cross_check"] = duckdb_reference.compare(settings, out)
    return report


PHASES = {
    "generate": phase_generate,
    "full": phase_full,
    "day": phase_day,
    "duckdb": phase_duckdb,
    "duckdb_day": phase_duckdb_day,
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.phases")
    parser.add_argument("phase", choices=sorted(PHASES))
    parser.add_argument("workdir")
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=90)
    args = parser.parse_args()
    settings = settings_for(Path(args.workdir), args.days)
    report = PHASES[args.phase](settings, args)
    report["cpu_seconds"] = round(cpu_seconds(), 1)  # the whole process, imports included
    report.setdefault("peak_rss_mb", peak_rss_mb())
    report["seconds"] = round(report["seconds"], 2)
    print(json.dumps(report, default=str))


if __name__ == "__main__":
    main()
