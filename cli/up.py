"""`eventlake up`: the whole local stack in one command, stopped cleanly on Ctrl-C.

Starts, as child processes: the bundled broker, a burst of simulated history followed by a
steady simulated stream, the ingester, Dagster (webserver + daemon, which runs the sensors
that keep the read models fresh), the Streamlit dashboard and the HTTP API. Every child gets the same
EVENTLAKE_* settings; their logs go to the state folder.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import IO

from cli import restart
from cli.args import command, non_negative, tcp_port
from eventlake.errors import EventlakeError
from eventlake.settings import Settings

log = logging.getLogger("eventlake.up")

DAGSTER_YAML = """\
telemetry:
  enabled: false
run_coordinator:
  module: dagster._core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: 2
    dequeue_interval_seconds: 1
    # one run at a time per lane: today, the past days, the unpartitioned tables (a run of
    # several days holds each lane it writes in), so an older run never overwrites a newer
    # one's figures (docs/architecture.md, "The loop")
    tag_concurrency_limits:
      - key: eventlake/lane.today
        limit: 1
      - key: eventlake/lane.past
        limit: 1
      - key: eventlake/lane.whole
        limit: 1
# a run that failed runs again once, the loop's runs with all their steps (orchestration/
# jobs.py); runs `up` ended because their workers stopped with the previous stack are not
# retried by Dagster: `up` asks the bronze sensor for their days again
run_retries:
  enabled: true
  max_retries: 1
"""
ENDED_HOW = {
    "failed": "marked failed",
    "canceled": "marked canceled",
    "stopped": "ended by the stop",
}
WORKSPACE_YAML = """\
load_from:
  - python_module:
      module_name: orchestration.definitions
      attribute: defs
      location_name: eventlake
"""


@dataclass
class Child:
    """A running piece of the stack."""

    name: str
    process: subprocess.Popen[bytes]
    log_file: IO[bytes]


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    """Adds `eventlake up` to the command line."""
    p = command(sub, "up", run, parent)
    p.add_argument("--state-dir", default=".eventlake", help="logs, pid files, Dagster home")
    p.add_argument("--dagster-port", type=tcp_port(1), default=3000)
    p.add_argument("--dashboard-port", type=tcp_port(1), default=8501)
    p.add_argument("--api-port", type=tcp_port(1), default=8000)
    p.add_argument(
        "--rate",
        type=non_negative,
        default=20.0,
        help="steady simulated events/s (default 20; 0: none, feed it your own)",
    )
    p.add_argument("--history-days", type=int, default=14, help="days of simulated history first")
    p.add_argument("--history-events", type=int, default=30_000,
                   help="events of simulated history (0: none)")  # fmt: skip


def child_env(settings: Settings, dagster_home: Path) -> dict[str, str]:
    """Returns the environment every child runs with: the settings as EVENTLAKE_* variables."""
    env = dict(os.environ)
    env.update(
        {
            "EVENTLAKE_LAKE_ROOT": settings.lake_root,
            "EVENTLAKE_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "EVENTLAKE_TOPICS": ",".join(settings.topics),
            "EVENTLAKE_GROUP_ID": settings.group_id,
            "EVENTLAKE_START_DATE": settings.start_date.isoformat(),
            "DAGSTER_HOME": str(dagster_home),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def run(args: argparse.Namespace, settings: Settings) -> int:
    """run the whole local stack (broker, simulator, ingester, Dagster, dashboard, API)

    Start the whole local stack on its embedded defaults, print the URLs, and
    stop all of it cleanly on Ctrl-C. Logs go to STATE_DIR/logs.

    example:
      eventlake up --rate 50 --history-days 30
    """
    # runs the stack until Ctrl-C or until a piece dies; returns the exit code
    state = Path(args.state_dir).resolve()
    logs = state / "logs"
    dagster_home = state / "dagster_home"
    logs.mkdir(parents=True, exist_ok=True)
    dagster_home.mkdir(parents=True, exist_ok=True)
    (dagster_home / "dagster.yaml").write_text(DAGSTER_YAML)
    workspace = state / "workspace.yaml"
    workspace.write_text(WORKSPACE_YAML)
    env = child_env(settings, dagster_home)
    write_key = settings.api_write_key or local_write_key(state)
    env["EVENTLAKE_API_WRITE_KEY"] = write_key
    el = [sys.executable, "-m", "cli.main"]
    children: list[Child] = []
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)  # also when started with SIGINT ignored (nohup, &)
    try:
        fresh_broker = not restart.broker_answers(settings.kafka_bootstrap)
        _check(subprocess.run([*el, "broker", "start", "--state-dir", str(state)], env=env))
        if fresh_broker and restart.bronze_exists(settings):
            _follow_new_topics(el, env, settings, logs)
        kept = restart.bronze_events(settings)
        if kept.count:
            print(
                f"keeping the lake of the previous run: {kept.count:,} events from {kept.first} "
                f"to {kept.last}; no history seeded"
            )
        faults = "--duplicates 0.005 --late 0.002 --out-of-order 0.01 --malformed 0.001".split()
        if args.history_events > 0 and not kept.count:
            print(f"seeding {args.history_events} events over {args.history_days} days of history…")
            history = ["--count", str(args.history_events), "--days", str(args.history_days)]
            _check(subprocess.run([*el, "simulate", *history, *faults, "--seed", "1"], env=env))
        start = lambda name, cmd: children.append(_spawn(name, cmd, env, logs))  # noqa: E731
        # a kept lake already holds the events of the first run's seed: silver would drop
        # them again as duplicates, so the stream starts from a fresh seed
        seed = [] if kept.count else ["--seed", "2"]
        steady = ["--count", "0", "--rate", str(args.rate), *seed, "--no-progress"]
        if args.rate > 0:
            start("simulator", [*el, "simulate", *steady, *faults])
        start("ingester", [*el, "ingest"])
        ended = restart.end_unfinished_runs(dagster_home, restart.stopped_since(state))
        if ended.counts:
            days = set(ended.days) or ({kept.last} if ended.whole and kept.last else set())
            restart.rebuild_days(settings, days)
            print(
                "Dagster runs the previous session left unfinished (their workers stopped with "
                "it): "
                + ", ".join(f"{n} {ENDED_HOW[how]}" for how, n in ended.counts.items())
                + (f"; the {len(days)} day(s) they were writing will be rebuilt" if days else "")
            )
        start("dagster", [sys.executable, "-m", "dagster", "dev", "-w", str(workspace),
                          *f"-h 127.0.0.1 -p {args.dagster_port}".split()])  # fmt: skip
        start("dashboard", [sys.executable, "-m", "streamlit", "run", _dashboard_app(),
                            "--server.address", "127.0.0.1",
                            "--server.port", str(args.dashboard_port),
                            "--server.headless", "true",
                            "--browser.gatherUsageStats", "false"])  # fmt: skip
        start("api", [*el, "api", "--port", str(args.api_port)])
        print(
            "\neventlake is up:\n"
            f"  dashboard  http://127.0.0.1:{args.dashboard_port}\n"
            f"  dagster    http://127.0.0.1:{args.dagster_port}\n"
            f"  api        http://127.0.0.1:{args.api_port}/docs  (write key {write_key})\n"
            f"  broker     {settings.kafka_bootstrap}  (topics: {', '.join(settings.topics)})\n"
            f"  lake       {settings.lake_root}\n"
            f"  logs       {logs}\n"
            "Press Ctrl-C to stop.\n",
            flush=True,
        )
        while True:
            for child in children:
                code = child.process.poll()
                if code is not None:
                    raise EventlakeError(
                        f"{child.name} exited with code {code}; see {logs / child.name}.log"
                    )
            time.sleep(1)
    except KeyboardInterrupt:
        stopping = True
        print("\nstopping…", flush=True)
        return 0
    finally:
        restart.mark_stopping(state)
        _stop_all(children)
        subprocess.run([*el, "broker", "stop", "--state-dir", str(state)], env=env)
        if stopping:
            print("stopped.")


def local_write_key(state: Path) -> str:
    """Returns the write key of the local stack's capture endpoint: made once, kept in the
    state folder (only its owner may read it)."""
    path = state / "api-write-key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(24))
        path.chmod(0o600)
    return path.read_text().strip()


def _follow_new_topics(el: list[str], env: dict[str, str], settings: Settings, logs: Path) -> None:
    """Resets the offsets of record of the default topics to earliest, as
    `eventlake reset-offsets --to earliest --yes` does, in its own process like every piece. For a broker `up` has just started: it keeps
    nothing, so its topics are new and empty, and the offsets of record that bronze holds
    belong to the previous broker's topics (docs/operations.md, "The local stack")."""
    topics = [arg for topic in settings.topics for arg in ("--topic", topic)]
    with (logs / "reset-offsets.log").open("ab") as out:
        reset = [*el, "reset-offsets", *topics, "--to", "earliest", "--yes"]
        _check(subprocess.run(reset, env=env, stdout=out))
    print(
        f"the bundled broker starts empty: topics {', '.join(settings.topics)} are new; "
        "bronze keeps its events and follows the new topics from offset 0"
    )


def _check(result: subprocess.CompletedProcess[bytes]) -> None:
    if result.returncode != 0:
        raise EventlakeError(f"{' '.join(map(str, result.args[2:5]))} failed")


def _spawn(name: str, cmd: list[str], env: dict[str, str], logs: Path) -> Child:
    log_file = (logs / f"{name}.log").open("ab")
    process = subprocess.Popen(
        cmd, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
    )
    log.info("started %s (pid %d)", name, process.pid)
    return Child(name, process, log_file)


def _stop_all(children: list[Child], timeout: float = 20.0) -> None:
    """Stops the children newest first: SIGTERM to each process group, then SIGKILL."""
    for child in reversed(children):
        if child.process.poll() is None:
            os.killpg(child.process.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for child in reversed(children):
        try:
            child.process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(child.process.pid, signal.SIGKILL)
            child.process.wait()
        child.log_file.close()


def _dashboard_app() -> str:
    spec = find_spec("dashboard")
    if spec is None or not spec.submodule_search_locations:
        raise EventlakeError("the dashboard package is not installed")
    return str(Path(next(iter(spec.submodule_search_locations))) / "app.py")
