"""Freshness of the whole local stack: event-to-gold latency and the run queue under load.

    .venv/bin/python -m bench.freshness                 # 20, 1,000 and 5,000 events/s, late burst
    .venv/bin/python -m bench.freshness --rates 20 --minutes 1 --late-events 0   # a quick look

Each phase starts the real local stack (`eventlake up`: broker, ingester, Dagster webserver and
daemon with its sensors and run queue, dashboard) in a fresh folder with no simulated traffic
of its own, then produces a steady stream at the phase's rate for `--minutes` with
`eventlake simulate`. The late phase produces 20 events/s and, after a minute, a burst of
events spread over the 30 past days. The stream then stops and the stack is given up to
`--drain` seconds to count everything. Every 2 s the run queue is sampled (runs waiting:
QUEUED or NOT_STARTED; runs in flight).

Reported per phase, beside the ingest rate actually reached: p50/p99/max latency from produce
to the commit of every gold day table that counts the event (bench/freshness_lag.py), the
largest queue depth and its largest value in each half of the phase (flat over time means the
second half is no worse than the first), and runs launched per minute. Results go to
bench/results/freshness.json and the "Freshness" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from tempfile import mkdtemp
from typing import Any

import dagster as dg
import psutil
from tqdm import tqdm

from bench import freshness_lag
from bench.report import write_section
from eventlake.settings import Settings

RESULTS = Path(__file__).parent / "results" / "freshness.json"
DOCS = Path(__file__).parents[1] / "docs" / "benchmarks.md"
TARGET_P99_S = 60.0
SAMPLE_S = 2.0
WAITING = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED]
IN_FLIGHT = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]


@dataclass
class Phase:
    """One load: a steady rate, and optionally a burst of late events after a minute."""

    name: str
    rate: float
    late_events: int = 0
    samples: list[tuple[float, int, int]] = field(default_factory=list)  # (t, waiting, flight)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.freshness",
        description="Event-to-gold latency and run-queue depth of the whole local stack under "
        "steady loads and a burst of late events.",
    )
    parser.add_argument("--rates", default="20,1000,5000", help="events/s, comma-separated")
    parser.add_argument("--minutes", type=float, default=4.0, help="minutes of load per phase")
    parser.add_argument("--late-events", type=int, default=5000,
                        help="events of the late burst, spread over 30 past days (0: no phase)")  # fmt: skip
    parser.add_argument("--drain", type=float, default=180.0,
                        help="seconds to let gold count everything after the load stops")  # fmt: skip
    parser.add_argument("--workdir", help="keep each phase's stack here (default: a temp dir)")
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks.md")
    args = parser.parse_args(argv)
    phases = [Phase(f"steady {float(r):g}/s", float(r)) for r in args.rates.split(",") if r]
    if args.late_events:
        phases.append(Phase("late burst (30 days) + 20/s", 20.0, args.late_events))
    root = Path(args.workdir or mkdtemp(prefix="eventlake-freshness-"))
    report: dict[str, Any] = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "minutes": args.minutes,
        "target_p99_s": TARGET_P99_S,
        "phases": [],
    }
    for number, phase in enumerate(phases, 1):
        report["phases"].append(run_phase(phase, root / f"phase{number}", args))
        print_phase(report["phases"][-1])
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    if not args.no_docs:
        write_section(DOCS, "Freshness", markdown(report))
    met = all(p["met"] for p in report["phases"])
    print("freshness: " + ("met" if met else "NOT met") + f" (results: {RESULTS})")
    return 0


def run_phase(phase: Phase, folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Runs one phase on a fresh stack and returns its figures."""
    folder.mkdir(parents=True, exist_ok=True)
    ports = {"broker": free_port(), "dagster": free_port(), "dashboard": free_port()}
    env = {
        **os.environ,
        "EVENTLAKE_LAKE_ROOT": str(folder / "lake"),
        "EVENTLAKE_KAFKA_BOOTSTRAP": f"127.0.0.1:{ports['broker']}",
    }
    el = [sys.executable, "-m", "eventlake.cli"]
    state = folder / "state"
    up_log = (folder / "up.log").open("wb")
    up = subprocess.Popen(
        [*el, "up", "--state-dir", str(state), "--rate", "0", "--history-events", "0",
         "--dagster-port", str(ports["dagster"]), "--dashboard-port", str(ports["dashboard"])],
        env=env, stdout=up_log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    settings = Settings.from_env(env=env)
    os.environ["DAGSTER_HOME"] = str(state / "dagster_home")
    try:
        wait_for(lambda: http_ok(f"http://127.0.0.1:{ports['dagster']}/server_info"), up, 180)
        time.sleep(10)  # the daemon's first sensor ticks
        stream = [*el, "simulate", "--count", "0", "--rate", f"{phase.rate:g}", "--seed", "11",
                  "--no-progress"]  # fmt: skip
        with dg.DagsterInstance.get() as instance:
            started = freshness_lag.now_s()
            sim = subprocess.Popen(stream, env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)  # fmt: skip
            burst = None
            rss_start = stack_rss(up)
            load_s = args.minutes * 60
            with tqdm(total=int(load_s), desc=phase.name, unit="s", leave=False) as bar:
                while (elapsed := freshness_lag.now_s() - started) < load_s:
                    if phase.late_events and burst is None and elapsed >= 60:
                        burst = subprocess.Popen(
                            [*el, "simulate", "--count", str(phase.late_events), "--days", "30",
                             "--seed", "12", "--no-progress"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                        )  # fmt: skip
                    sample(instance, phase, elapsed)
                    assert up.poll() is None, "the stack stopped; see " + str(folder / "up.log")
                    time.sleep(SAMPLE_S)
                    bar.n = int(min(elapsed, load_s))
                    bar.refresh()
            stopped = freshness_lag.now_s()
            sim.send_signal(signal.SIGINT)
            sim.wait(30)
            if burst is not None:
                burst.wait(120)
            rss_end = stack_rss(up)
            runs = launched(instance, started, stopped)
            lat = drain(settings, instance, started, stopped, args.drain)
    finally:
        up.send_signal(signal.SIGINT)
        try:
            up.wait(90)
        except subprocess.TimeoutExpired:
            up.kill()
        up_log.close()
    minutes = (stopped - started) / 60
    events = freshness_lag.summary(lat)
    half = args.minutes * 30
    first = [w for t, w, _ in phase.samples if t < half]
    second = [w for t, w, _ in phase.samples if t >= half]
    p99 = events["p99_s"]
    return {
        "phase": phase.name,
        "rate": phase.rate,
        "late_events": phase.late_events,
        "ingested_per_s": round(events["events"] / (stopped - started), 1),
        **events,
        "queue_max": max((w for _, w, _ in phase.samples), default=0),
        "queue_max_first_half": max(first, default=0),
        "queue_max_second_half": max(second, default=0),
        "in_flight_max": max((f for _, _, f in phase.samples), default=0),
        "runs_launched_per_min": round(runs / minutes, 1),
        "stack_rss_mb": [round(rss_start), round(rss_end)],
        "met": p99 is not None and p99 <= TARGET_P99_S and events["not_in_gold"] == 0,
    }


def sample(instance: dg.DagsterInstance, phase: Phase, elapsed: float) -> None:
    """Records how many runs wait in the queue and how many are in flight."""
    waiting = instance.get_runs_count(dg.RunsFilter(statuses=WAITING))
    flight = instance.get_runs_count(dg.RunsFilter(statuses=IN_FLIGHT))
    phase.samples.append((elapsed, waiting, flight))


def launched(instance: dg.DagsterInstance, since: float, until: float) -> int:
    """Returns how many runs started in [since, until]."""
    records = instance.get_run_records(
        dg.RunsFilter(updated_after=datetime.fromtimestamp(since, UTC))
    )
    return sum(1 for r in records if r.start_time is not None and since <= r.start_time <= until)


def drain(settings: Settings, instance: dg.DagsterInstance, since: float, until: float,
          seconds: float) -> Any:  # fmt: skip
    """Waits until every event produced in [since, until) is in gold, or `seconds` pass;
    returns the events with their latency."""
    begin, until_dt = datetime.fromtimestamp(since, UTC), datetime.fromtimestamp(until, UTC)
    deadline = time.monotonic() + seconds
    while True:
        time.sleep(5)
        lat = freshness_lag.latencies(
            freshness_lag.produced(settings, begin, until_dt), freshness_lag.gold_commits(instance)
        )
        if lat.get_column("latency_s").null_count() == 0 or time.monotonic() > deadline:
            return lat


def stack_rss(up: subprocess.Popen[bytes]) -> float:
    """Returns the resident memory of the stack's processes together, in MB."""
    try:
        procs = [psutil.Process(up.pid), *psutil.Process(up.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total / 2**20


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def wait_for(ready: Any, up: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        if up.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the local stack did not come up")
        time.sleep(1)


def _s(value: float | None) -> str:
    return "-" if value is None else ("never" if value == float("inf") else f"{value:.1f} s")


def print_phase(p: dict[str, Any]) -> None:
    print(
        f"{p['phase']}: {p['ingested_per_s']:,.0f} events/s ingested ({p['events']:,} events, "
        f"{p['not_in_gold']} not in gold); latency p50 {_s(p['p50_s'])}, p99 {_s(p['p99_s'])}, "
        f"max {_s(p['max_s'])}; queue max {p['queue_max']} (halves {p['queue_max_first_half']} "
        f"/ {p['queue_max_second_half']}), {p['runs_launched_per_min']} runs/min; "
        f"stack RSS {p['stack_rss_mb'][0]} -> {p['stack_rss_mb'][1]} MB",
        flush=True,
    )


def markdown(report: dict[str, Any]) -> str:
    """Returns the Freshness section of docs/benchmarks.md."""
    lines = [
        "## Freshness",
        "",
        "Measured with `.venv/bin/python -m bench.freshness` on "
        f"{report['measured_at'][:10]}: the whole local stack (`eventlake up`, daemon "
        f"included) under each load for {report['minutes']:g} minutes, then up to the drain "
        "time to count everything. Latency runs from the Kafka produce timestamp to the commit "
        "of every gold day table of the event's day by a run that read it "
        "(bench/freshness_lag.py); an event never counted counts as infinitely late. Queue: "
        "runs waiting (QUEUED or NOT_STARTED), sampled every 2 s; its largest value in each "
        "half of the phase shows whether it grows over time.",
        "",
        "| load | ingested | events | p50 | p99 | max | queue max (1st / 2nd half) "
        "| runs launched / min | stack RSS start -> end | p99 <= 60 s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in report["phases"]:
        lines.append(
            f"| {p['phase']} | {p['ingested_per_s']:,.0f} /s | {p['events']:,} "
            f"| {_s(p['p50_s'])} | {_s(p['p99_s'])} | {_s(p['max_s'])} "
            f"| {p['queue_max']} ({p['queue_max_first_half']} / {p['queue_max_second_half']}) "
            f"| {p['runs_launched_per_min']} | {p['stack_rss_mb'][0]} -> "
            f"{p['stack_rss_mb'][1]} MB | {'met' if p['met'] else 'NOT met'} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
