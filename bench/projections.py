"""Projection benchmark (docs/service-levels.md): silver + every gold table for 10M events over 90 days.

    .venv/bin/python -m bench.projections            # or: make bench-projections

Generates a realistic bronze/events table (bench/events.py) in a temporary folder, then runs
each measured phase in a fresh child process (so its peak RSS is its own, and Dagster's
import is paid before the clock starts):

1. full: `eventlake materialize`'s code path (in-process Dagster runs of every asset: the
   day range in one run, then the unpartitioned tables) over every day;
2. duckdb: the equal-work reference (bench/duckdb_reference.py): DuckDB builds silver and
   every gold table from bronze and writes them as Delta; every table is then compared whole
   with the lake's;
3. day, one figure: late events for one day in the middle are appended, then the
   `ingested_days` job runs over that day (silver and every day-partitioned table: the
   bronze-commit sensor's run), then what the follow-up sensor requests after it
   (`followup_requests`: one `follow_ups` run over the windows and data-dependent days that
   read the day, one `whole_tables` run), run by run, until none is left;
4. duckdb_day: the reference's update for the late day (only the days that read it), then
   compared whole with the lake's again.

Phases 1 and 2 also report where their time went (bench/breakdown.py). Prints a table, writes
bench/results/projections.json and the "Projections" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from bench.report import markdown, print_table, record

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"full": (90.0, 4096.0), "day": (10.0, None)}  # docs/service-levels.md
PHASES = ("generate", "full", "duckdb", "day", "duckdb_day")


def busy_cpu_seconds() -> float:
    """Returns the CPU seconds the whole machine has spent busy since boot (/proc/stat)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def child(phase: str, workdir: Path, args: argparse.Namespace) -> dict:
    """Runs one phase in a fresh interpreter and returns its JSON report."""
    env = {**os.environ, "DAGSTER_HOME": str(workdir / "dagster"), "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "bench.phases", phase, str(workdir),
           "--events", str(args.events), "--days", str(args.days)]  # fmt: skip
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-4000:])
        raise SystemExit(f"phase {phase} failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    """Runs the benchmark; returns the exit code (1 when a target is missed or results differ)."""
    parser = argparse.ArgumentParser(prog="bench.projections", description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--workdir", help="keep the lake here (default: a temporary folder)")
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite the docs section")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="eventlake-bench-") as tmp:
        workdir = Path(args.workdir or tmp)
        (workdir / "dagster").mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        phases = {}
        for phase in PHASES:
            busy, wall = busy_cpu_seconds(), time.perf_counter()
            phases[phase] = child(phase, workdir, args)
            # Other work on the machine stretches wall times: record the share of the CPUs
            # that other processes used while this phase ran.
            others = busy_cpu_seconds() - busy - phases[phase]["cpu_seconds"]
            capacity = (time.perf_counter() - wall) * (os.cpu_count() or 1)
            phases[phase]["other_cpu_share"] = round(max(others, 0.0) / capacity, 3)
            print(f"  {phase}: {phases[phase]['seconds']:.1f} s", file=sys.stderr)
        report = {
            "command": ".venv/bin/python -m bench.projections",
            "measured_on": date.today().isoformat(),
            "machine": f"{os.cpu_count()} cores",
            "events": phases["generate"]["bronze_rows"],
            "days": args.days,
            "phases": phases,
            "targets": {k: {"seconds": s, "peak_rss_mb": m} for k, (s, m) in TARGETS.items()},
            "total_seconds": round(time.perf_counter() - started, 1),
        }
    ok = print_table(report)
    record("projections", report, "Projections", markdown, docs=not args.no_docs)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
