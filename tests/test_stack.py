"""`eventlake up` end to end: the whole local stack shows live figures, stops cleanly, and
carries on from the same folder when started again; ending a previous session's runs."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl

from bench.freshness import http_ok
from cli import restart, up
from eventlake import lake, outgoing
from eventlake.catalog import BRONZE_EVENTS, GOLD_DAILY_ACTIVE_USERS, GOLD_REVENUE_DAILY
from eventlake.settings import Settings
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
    try:
        deadline = time.monotonic() + 300
        dau = revenue = pl.DataFrame()
        while time.monotonic() < deadline:
            assert up.poll() is None, first.read_text()[-3000:]
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
    finally:
        code = stop(up)
    assert code == 0, first.read_text()[-3000:]
    assert not any(port_open(p) for p in (broker, dagster, dashboard, api))

    # Started again in the same folder: a new, empty broker, the same lake and Dagster home.
    kept = bronze(settings)
    # DAU of a day can exceed these counts only with users of events ingested after the restart
    users = dict(kept.group_by("event_date").agg(pl.col("user_id").drop_nulls().n_unique()).rows())
    before = pl.col("day").replace_strict(users, default=0, return_dtype=pl.Int64)
    restarted_at = datetime.now(UTC)
    second = tmp_path / "up-again.log"
    with second.open("wb") as log:
        up = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        new = dau = pl.DataFrame()
        while time.monotonic() < deadline:
            assert up.poll() is None, second.read_text()[-3000:]
            new = bronze(settings).filter(pl.col("ingested_at") > restarted_at)
            dau = lake.scan(settings, GOLD_DAILY_ACTIVE_USERS).collect()
            grown = dau.filter(pl.col("dau") > before)
            if new.height and grown.height:
                break
            time.sleep(2)
        text = second.read_text()
        assert new.height, "no new events in bronze within 5 minutes of the restart"
        assert grown.height, "no new events in gold within 5 minutes of the restart"
        assert "follows the new topics from offset 0" in text, text
        assert f"keeping the lake of the previous run: {kept.height:,} events" in text, text
        # neither the history (seed 1) nor the first steady stream (seed 2) is sent again
        assert "seeding" not in text
        assert new.join(kept, on="event_id", how="semi").is_empty()
    finally:
        code = stop(up)
    text = second.read_text()
    assert code == 0 and "exited with code" not in text, text[-3000:]
    assert not any(port_open(p) for p in (broker, dagster, dashboard))


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

    # Their days are asked for again through the log: an empty bronze commit touching them.
    settings = Settings.from_env(env={"EVENTLAKE_LAKE_ROOT": str(tmp_path / "lake")})
    assert restart.rebuild_days(settings, ended.days) is None  # no bronze table: nothing ran
    table = lake.ensure_table(settings, BRONZE_EVENTS)
    version = restart.rebuild_days(settings, ended.days)
    assert version is not None
    touched = touched_since(lake.refresh(table, BRONZE_EVENTS), version - 1)
    assert touched.days == {day} and not touched.everything
    assert lake.scan(settings, BRONZE_EVENTS).collect().is_empty()
