"""`eventlake up` end to end: the whole local stack shows live figures, then stops cleanly."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import polars as pl

from eventlake import lake
from eventlake.catalog import GOLD_DAILY_ACTIVE_USERS, GOLD_REVENUE_DAILY
from eventlake.settings import Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def dagster_assets(port: int) -> set[str]:
    query = json.dumps({"query": "{ assetNodes { assetKey { path } } }"}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql", query, {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        nodes = json.load(response)["data"]["assetNodes"]
    return {"/".join(n["assetKey"]["path"]) for n in nodes}


def test_up_serves_live_figures_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    broker, dagster, dashboard = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "EVENTLAKE_LAKE_ROOT": str(tmp_path / "lake"),
        "EVENTLAKE_KAFKA_BOOTSTRAP": f"127.0.0.1:{broker}",
        "EVENTLAKE_KAFKA_CONFIG": json.dumps(
            {"session.timeout.ms": 2000, "heartbeat.interval.ms": 400}
        ),
    }
    cmd = [sys.executable, "-m", "eventlake.cli", "up", "--state-dir", str(tmp_path / "state"),
           "--dagster-port", str(dagster), "--dashboard-port", str(dashboard),
           "--history-events", "3000", "--history-days", "5", "--rate", "20"]  # fmt: skip
    log = (tmp_path / "up.log").open("wb")
    up = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    settings = Settings.from_env(env=env)
    try:
        deadline = time.monotonic() + 300
        dau = revenue = pl.DataFrame()
        while time.monotonic() < deadline:
            assert up.poll() is None, (tmp_path / "up.log").read_text()[-3000:]
            dau = lake.scan(settings, GOLD_DAILY_ACTIVE_USERS).collect()
            revenue = lake.scan(settings, GOLD_REVENUE_DAILY).collect()
            # every history day (late simulated events may add older ones first)
            days_done = dau.height >= 5 and revenue.height
            if days_done and http_ok(f"http://127.0.0.1:{dashboard}/healthz"):
                break
            time.sleep(2)
        assert dau.height >= 5 and revenue.height, "no read models within 5 minutes"
        assert dau["dau"].max() > 0 and revenue["revenue"].sum() > 0
        assert {"silver/events", "gold/daily_active_users", "gold/revenue_daily"} <= (
            dagster_assets(dagster)
        )
        assert "eventlake is up" in (tmp_path / "up.log").read_text()
    finally:
        up.send_signal(signal.SIGINT)
        code = up.wait(timeout=90)
        log.close()
    assert code == 0, (tmp_path / "up.log").read_text()[-3000:]
    assert not any(port_open(p) for p in (broker, dagster, dashboard))
