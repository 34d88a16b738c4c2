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
from collections.abc import Iterator
from contextlib import contextmanager
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
EL = [sys.executable, "-m", "cli.main"]


@dataclass
class Phase:
    """One load: a steady rate, and optionally a burst of late events after a minute."""

    name: str
    rate: float
    late_events: int = 0
    # (seconds into the load, runs waiting, runs in flight, stack RSS in MB)
    samples: list[tuple[float, int, int, float]] = field(default_factory=list)


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
    report["start"] = history_at_start(root / "start")
    print("eventlake up on its defaults: {events:,} history events over {days} days in gold "
          "{in_gold_after_s} s after the start".format(**report["start"]), flush=True)  # fmt: skip
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


@dataclass
class Stack:
    """A running `eventlake up` in its own folder."""

    up: subprocess.Popen[bytes]
    env: dict[str, str]
    settings: Settings
    state: Path
    log: Path
    started_s: float


@contextmanager
def local_stack(folder: Path, *up_args: str) -> Iterator[Stack]:
    """Runs `eventlake up` in `folder` on free ports until the block ends, then stops it with
    Ctrl-C; DAGSTER_HOME points at its instance meanwhile."""
    folder.mkdir(parents=True, exist_ok=True)
    ports = {"broker": free_port(), "dagster": free_port(), "dashboard": free_port()}
    env = {
        **os.environ,
        "EVENTLAKE_LAKE_ROOT": str(folder / "lake"),
        "EVENTLAKE_KAFKA_BOOTSTRAP": f"127.0.0.1:{ports['broker']}",
    }
    state = folder / "state"
    log = folder / "up.log"
    started = freshness_lag.now_s()
    with log.open("wb") as out:
        up = subprocess.Popen(
            [*EL, "up", "--state-dir", str(state), *up_args,
             "--dagster-port", str(ports["dagster"]), "--dashboard-port", str(ports["dashboard"])],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        os.environ["DAGSTER_HOME"] = str(state / "dagster_home")
        try:
            wait_for(lambda: http_ok(f"http://127.0.0.1:{ports['dagster']}/server_info"), up, 180)
            yield Stack(up, env, Settings.from_env(env=env), state, log, started)
        finally:
            up.send_signal(signal.SIGINT)
            try:
                up.wait(90)
            except subprocess.TimeoutExpired:
                up.kill()


def history_at_start(folder: Path) -> dict[str, Any]:
    """Starts `eventlake up` on its defaults (as `make demo` does) and returns how long after
    the start every event of the seeded history was counted in gold."""
    with local_stack(folder) as stack, dg.DagsterInstance.get() as instance:
        deadline = time.monotonic() + 600
        until = None
        while time.monotonic() < deadline:
            time.sleep(5)
            if until is None and "eventlake is up" in stack.log.read_text():
                until = datetime.now(UTC)  # the history is produced before the stack is up
            if until is None:
                continue
            since = datetime.fromtimestamp(stack.started_s, UTC)
            events = freshness_lag.produced(stack.settings, since, until)
            lat = freshness_lag.latencies(events, freshness_lag.gold_commits(instance))
            if events.height and lat.get_column("latency_s").null_count() == 0:
                done = float(lat.get_column("counted_s").max())
                return {"events": events.height, "days": events.get_column("event_date")
                        .n_unique(), "in_gold_after_s": round(done - stack.started_s, 1)}  # fmt: skip
    return {"events": 0, "days": 0, "in_gold_after_s": None}


def run_phase(phase: Phase, folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Runs one phase on a fresh stack and returns its figures."""
    with local_stack(folder, "--rate", "0", "--history-events", "0") as stack:
        up, env, state, settings = stack.up, stack.env, stack.state, stack.settings
        time.sleep(10)  # the daemon's first sensor ticks
        stream = [*EL, "simulate", "--count", "0", "--rate", f"{phase.rate:g}", "--seed", "11",
                  "--no-progress"]  # fmt: skip
        with dg.DagsterInstance.get() as instance:
            started = freshness_lag.now_s()
            sim = subprocess.Popen(stream, env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, preexec_fn=_low_priority)  # fmt: skip
            burst = None
            load_s = args.minutes * 60
            with tqdm(total=int(load_s), desc=phase.name, unit="s", leave=False) as bar:
                while (elapsed := freshness_lag.now_s() - started) < load_s:
                    if phase.late_events and burst is None and elapsed >= 60:
                        burst = subprocess.Popen(
                            [*EL, "simulate", "--count", str(phase.late_events), "--days", "30",
                             "--seed", "12", "--no-progress"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            preexec_fn=_low_priority,
                        )  # fmt: skip
                    sample(instance, phase, elapsed, stack_rss(up, state))
                    assert up.poll() is None, f"the stack stopped; see {stack.log}"
                    time.sleep(SAMPLE_S)
                    bar.n = int(min(elapsed, load_s))
                    bar.refresh()
            stopped = freshness_lag.now_s()
            sim.send_signal(signal.SIGINT)
            sim.wait(30)
            if burst is not None:
                burst.wait(120)
            runs = launched(instance, started, stopped)
            lat = drain(settings, instance, started, stopped, args.drain)
    minutes = (stopped - started) / 60
    events = freshness_lag.summary(lat)
    half = args.minutes * 30
    first = [w for t, w, _, _ in phase.samples if t < half]
    second = [w for t, w, _, _ in phase.samples if t >= half]
    rss = [m for *_, m in phase.samples]
    p99 = events["p99_s"]
    return {
        "phase": phase.name,
        "rate": phase.rate,
        "late_events": phase.late_events,
        "ingested_per_s": round(events["events"] / (stopped - started), 1),
        **events,
        "queue_max": max((w for _, w, _, _ in phase.samples), default=0),
        "queue_max_first_half": max(first, default=0),
        "queue_max_second_half": max(second, default=0),
        "in_flight_max": max((f for _, _, f, _ in phase.samples), default=0),
        "runs_launched_per_min": round(runs / minutes, 1),
        # first, largest and last sample: a stack that keeps growing shows last = largest
        "stack_rss_mb": [round(rss[0]), round(max(rss)), round(rss[-1])] if rss else [0, 0, 0],
        "met": p99 is not None and p99 <= TARGET_P99_S and events["not_in_gold"] == 0,
    }


def _low_priority() -> None:
    """Runs the load generator at nice 10: in production the producers are other machines,
    here they share the stack's two cores (the rate it reaches is reported)."""
    os.nice(10)


def sample(instance: dg.DagsterInstance, phase: Phase, elapsed: float, rss: float) -> None:
    """Records how many runs wait in the queue, how many are in flight, and the stack's RSS."""
    waiting = instance.get_runs_count(dg.RunsFilter(statuses=WAITING))
    flight = instance.get_runs_count(dg.RunsFilter(statuses=IN_FLIGHT))
    phase.samples.append((elapsed, waiting, flight, rss))


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


def stack_rss(up: subprocess.Popen[bytes], state: Path) -> float:
    """Returns the resident memory of the stack's long-lived processes together, in MB: the
    broker (a daemon of its own, found by its pid file), ingester, Dagster's webserver, daemon
    and code servers, the dashboard; not the run workers, which live for one run."""
    try:
        procs = [psutil.Process(up.pid), *psutil.Process(up.pid).children(recursive=True)]
        procs.append(psutil.Process(int((state / "broker.pid").read_text().split()[0])))
    except (psutil.NoSuchProcess, OSError, ValueError):
        return 0.0
    total = 0
    for p in procs:
        try:
            line = " ".join(p.cmdline())
            if "multiprocessing" not in line and "watch_orphans" not in line:
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
        "stack RSS first / max / last {} / {} / {} MB".format(*p["stack_rss_mb"]),
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
        "half of the phase shows whether it grows over time. Stack RSS: the long-lived "
        "processes together (broker, ingester, Dagster webserver, daemon and code servers, "
        "dashboard; not the run workers), sampled with the queue. The load generator "
        "(`eventlake simulate`) shares the two cores at nice 10, as producers live on other "
        "machines in production; the rate it reached is the ingested column. The bundled "
        "broker keeps every message in memory (it has no retention), so its share grows with "
        "the traffic.",
        "",
        "| load | ingested | events | p50 | p99 | max | queue max (1st / 2nd half) "
        "| runs launched / min | stack RSS first / max / last | p99 <= 60 s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in report["phases"]:
        lines.append(
            f"| {p['phase']} | {p['ingested_per_s']:,.0f} /s | {p['events']:,} "
            f"| {_s(p['p50_s'])} | {_s(p['p99_s'])} | {_s(p['max_s'])} "
            f"| {p['queue_max']} ({p['queue_max_first_half']} / {p['queue_max_second_half']}) "
            f"| {p['runs_launched_per_min']} | "
            + " / ".join(str(m) for m in p["stack_rss_mb"])
            + f" MB | {'met' if p['met'] else 'NOT met'} |"
        )
    start = report.get("start") or {}
    if start.get("in_gold_after_s") is not None:
        lines += [
            "",
            f"`eventlake up` on its defaults (as `make demo`): the {start['events']:,} seeded "
            f"history events over {start['days']} days were all counted in gold "
            f"{start['in_gold_after_s']:.0f} s after the command started (broker, history "
            "and every process start included).",
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
