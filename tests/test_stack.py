"""`eventlake up` end to end: the whole local stack shows live figures, keeps up with a steady
stream (a bounded run queue, events in gold within the freshness promise), stops cleanly,
carries on from the same folder when started again, and picks up the work a stop left pending
until gold equals a rebuild from the log; ending a previous session's runs."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
import pytest

from bench.freshness import http_ok
from cli import restart, up
from eventlake import lake
from eventlake.catalog import BRONZE_EVENTS, GOLD_DAILY_ACTIVE_USERS, GOLD_REVENUE_DAILY
from eventlake.settings import Settings
from kafka_io import outgoing
from orchestration.bronze_log import touched_since
from orchestration.partitions import range_tags


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def dagster_assets(port: int) -> set[str]:
    query = json.dumps({"query": "{ assetNodes { assetKey { path } } }"}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql", query, {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        nodes = json.load(response)["data"]["assetNodes"]
    return {"/".join(n["assetKey"]["path"]) for n in nodes}


def bronze(settings: Settings) -> pl.DataFrame:
    return (
        lake.scan(settings, BRONZE_EVENTS)
        .select(
            "event_id",
            "event_date",
            "ingested_at",
            user_id=pl.col("payload").str.json_path_match("$.user_id"),
        )
        .collect()
    )


def post_event(port: int, write_key: str) -> dict[str, Any]:
    """Posts one login to the stack's capture endpoint; returns its answer."""
    body = outgoing.login("u-posted").value
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/events", body,
        {"Content-Type": "application/json", "X-Write-Key": write_key},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as response:
        return dict(json.load(response))


def stop(up: subprocess.Popen[bytes]) -> int:
    up.send_signal(signal.SIGINT)
    return up.wait(timeout=90)


def post_order(port: int, write_key: str, at: datetime, amount: float) -> None:
    """Posts one order in CHF (a currency the simulator never sells in) placed `at`."""
    item = outgoing.OrderItem("P0001", 1, amount)
    body = outgoing.order_placed("u-buyer", order_id=f"o-{at:%j%H%M%S}", currency="CHF",
                                 items=[item], at=at).value  # fmt: skip
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/events", body,
        {"Content-Type": "application/json", "X-Write-Key": write_key},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as response:
        assert json.load(response)["accepted"] == 1


def runs_in(dagster_home: Path, statuses: list[dg.DagsterRunStatus]) -> int:
    """Returns how many of the stack's runs have one of `statuses`."""
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        return instance.get_runs_count(dg.RunsFilter(statuses=statuses))


WAITING = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED]
ENDED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}
UNFINISHED = [s for s in dg.DagsterRunStatus if s not in ENDED]
FRESHNESS_S = 60  # docs/service-levels.md: an event in gold within 60 s of being produced
# ingested_days, follow_ups, whole_tables: about one waiting run each, two while a newer run
# that takes in an older one waits beside it until the sensor cancels the older (coalesce.py)
LOOP_JOBS = 3


@pytest.mark.timeout(900)
def test_up_serves_live_figures_stops_on_ctrl_c_and_resumes(tmp_path: Path) -> None:
    broker, dagster, dashboard, api = free_port(), free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "EVENTLAKE_LAKE_ROOT": str(tmp_path / "lake"),
        "EVENTLAKE_KAFKA_BOOTSTRAP": f"127.0.0.1:{broker}",
        "EVENTLAKE_KAFKA_CONFIG": json.dumps(
            {"session.timeout.ms": 2000, "heartbeat.interval.ms": 400}
        ),
    }
    cmd = [sys.executable, "-m", "cli.main", "up", "--state-dir", str(tmp_path / "state"),
           "--dagster-port", str(dagster), "--dashboard-port", str(dashboard),
           "--api-port", str(api), "--history-events", "3000", "--history-days", "5", "--rate", "20"]  # fmt: skip
    first = tmp_path / "up.log"
    with first.open("wb") as log:
        up = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    settings = Settings.from_env(env=env)
    home = tmp_path / "state" / "dagster_home"
    started = time.monotonic()
    depths: list[int] = []  # the run queue, sampled while the simulator streams at 20/s
    try:
        deadline = time.monotonic() + 300
        dau = revenue = pl.DataFrame()
        while time.monotonic() < deadline:
            assert up.poll() is None, first.read_text()[-3000:]
            depths.append(runs_in(home, WAITING) if home.exists() else 0)
            dau = lake.scan(settings, GOLD_DAILY_ACTIVE_USERS).collect()
            revenue = lake.scan(settings, GOLD_REVENUE_DAILY).collect()
            # every history day (late simulated events may add older ones first)
            days_done = dau.height >= 5 and revenue.height
            up_ok = http_ok(f"http://127.0.0.1:{dashboard}/healthz") and http_ok(
                f"http://127.0.0.1:{api}/health"
            )
            if days_done and up_ok:
                break
            time.sleep(2)
        assert dau.height >= 5 and revenue.height, "no read models within 5 minutes"
        captured = post_event(api, (tmp_path / "state" / "api-write-key").read_text())
        assert captured["accepted"] == 1, captured
        assert dau["dau"].max() > 0 and revenue["revenue"].sum() > 0
        assert {"silver/events", "gold/daily_active_users", "gold/revenue_daily"} <= (
            dagster_assets(dagster)
        )
        assert "eventlake is up" in first.read_text()
        assert f"http://127.0.0.1:{api}/docs" in first.read_text()
        event_id = captured["results"][0]["event_id"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and event_id not in set(bronze(settings)["event_id"]):
            time.sleep(1)
        assert event_id in set(bronze(settings)["event_id"]), "the posted event is not in bronze"

        # An order posted now and a late one (placed three days ago) reach gold within the
        # freshness promise while the stream goes on (for 100 s at least since the start).
        key = (tmp_path / "state" / "api-write-key").read_text()
        now = datetime.now(UTC)
        posted = {now.date(): 12.5, (now - timedelta(days=3)).date(): 7.25}
        posted_at = time.monotonic()
        for day, amount in posted.items():
            post_order(api, key, now - (now.date() - day), amount)
        in_gold: dict[date, float] = {}
        while time.monotonic() < posted_at + FRESHNESS_S * 2:
            if len(in_gold) == len(posted) and time.monotonic() > started + 100:
                break
            assert up.poll() is None, first.read_text()[-3000:]
            depths.append(runs_in(home, WAITING))
            chf = lake.scan(settings, GOLD_REVENUE_DAILY).filter(pl.col("currency") == "CHF")
            for day, revenue_of_day in chf.select("day", "revenue").collect().rows():
                if posted.get(day) == revenue_of_day:
                    in_gold.setdefault(day, time.monotonic() - posted_at)
            time.sleep(2)
        assert set(in_gold) == set(posted), f"in gold after {FRESHNESS_S * 2} s: {in_gold}"
        assert max(in_gold.values()) <= FRESHNESS_S, in_gold
        assert max(depths) <= 2 * LOOP_JOBS, depths
    finally:
        code = stop(up)
    assert code == 0, first.read_text()[-3000:]
    assert not any(port_open(p) for p in (broker, dagster, dashboard, api))

    # Started again in the same folder, without traffic: a new, empty broker, the same lake and
    # Dagster home. The stop above left the stream's last commits unread by the loop: the stack
    # picks that work up and ingests what is posted to the new topics; once its runs are done,
    # gold equals a rebuild from the log.
    kept = bronze(settings)
    second = tmp_path / "up-again.log"
    quiet = [*cmd[: cmd.index("--history-events")], "--history-events", "0", "--rate", "0"]
    with second.open("wb") as log:
        up = subprocess.Popen(quiet, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline, idle, opened, event_id = time.monotonic() + 240, 0, None, None
        while time.monotonic() < deadline and idle < 3:  # no run for 3 looks 5 s apart
            assert up.poll() is None, second.read_text()[-3000:]
            if opened is None and port_open(dagster) and http_ok(f"http://127.0.0.1:{api}/health"):
                opened = time.monotonic()
                event_id = post_event(api, key)["results"][0]["event_id"]
            # the daemon's sensors tick within 20 s of the webserver answering
            settled = opened is not None and time.monotonic() - opened > 20
            idle = idle + 1 if settled and not runs_in(home, UNFINISHED) else 0
            time.sleep(5)
        assert idle >= 3, "runs still waiting or running 4 minutes after the start"
        text = second.read_text()
        assert "follows the new topics from offset 0" in text, text
        assert f"keeping the lake of the previous run: {kept.height:,} events" in text, text
        assert "seeding" not in text
        assert event_id in set(bronze(settings)["event_id"]), "the posted event is not in bronze"
    finally:
        code = stop(up)
    text = second.read_text()
    assert code == 0 and "exited with code" not in text, text[-3000:]
    assert not any(port_open(p) for p in (broker, dagster, dashboard, api))
    first_day = max(bronze(settings)["event_date"].min(), settings.start_date)
    reconciled = subprocess.run(
        [sys.executable, "-m", "cli.main", "reconcile", "--no-heal", "--from", str(first_day),
         "--to", str(datetime.now(UTC).date())],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr
    assert reconciled.stdout.strip().splitlines()[-1] == "no drift remains"


def test_runs_left_unfinished_are_ended_and_their_days_asked_for_again(tmp_path: Path) -> None:
    """Their run workers stopped with the previous stack; QUEUED runs (which need a code
    origin to create here) are left alone by the same status filter as NOT_STARTED ones."""
    (tmp_path / "dagster.yaml").write_text(up.DAGSTER_YAML)
    assert restart.end_unfinished_runs(tmp_path).counts == {}  # no run history yet
    status = dg.DagsterRunStatus
    day = date(2026, 3, 1)
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        runs = {
            s: instance.add_run(dg.DagsterRun("job", status=s, tags=range_tags(day, day))).run_id
            for s in status
            if s != status.QUEUED
        }
    ended = restart.end_unfinished_runs(tmp_path)
    assert ended.counts == {"failed": 2, "canceled": 1}
    assert ended.days == {day} and not ended.whole  # what the failed ones were rebuilding
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        after = {s: instance.get_run_by_id(run_id) for s, run_id in runs.items()}
    want = {status.STARTING: status.FAILURE, status.STARTED: status.FAILURE}
    want[status.CANCELING] = status.CANCELED
    assert {s: run.status for s, run in after.items() if run} == {s: want.get(s, s) for s in runs}
    assert restart.end_unfinished_runs(tmp_path).counts == {}

    # Runs the previous stop killed ended failed or canceled on their own: those that ended
    # since it began to stop are redone too, not the ones that ended before.
    home = tmp_path / "stopped"
    home.mkdir()
    (home / "dagster.yaml").write_text(up.DAGSTER_YAML)
    assert restart.stopped_since(home) is None
    restart.mark_stopping(home)
    stop_began = restart.stopped_since(home) or 0
    assert abs(time.time() - stop_began) < 1
    assert restart.stopped_since(home) is None  # once only: a later crash redoes no more
    other = date(2026, 3, 2)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for s in (status.FAILURE, status.CANCELED):
            instance.add_run(dg.DagsterRun("job", status=s, tags=range_tags(other, other)))
    assert restart.end_unfinished_runs(home, stop_began) == restart.EndedRuns(
        {"stopped": 2}, frozenset({other})
    )
    assert restart.end_unfinished_runs(home, time.time() + 2).counts == {}

    # Their days are asked for again through the log: an empty bronze commit touching them.
    settings = Settings.from_env(env={"EVENTLAKE_LAKE_ROOT": str(tmp_path / "lake")})
    assert restart.rebuild_days(settings, ended.days) is None  # no bronze table: nothing ran
    table = lake.ensure_table(settings, BRONZE_EVENTS)
    version = restart.rebuild_days(settings, ended.days)
    assert version is not None
    touched = touched_since(lake.refresh(table, BRONZE_EVENTS), version - 1)
    assert touched.days == {day} and not touched.everything
    assert lake.scan(settings, BRONZE_EVENTS).collect().is_empty()
