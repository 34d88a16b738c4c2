"""`bench/ingest.py` runs end to end on a small scale and writes figures the docs can quote."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(330)
def test_the_ingest_benchmark_runs_and_reports_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "ingest.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.ingest", "--events", "30000", "--latency-rate", "2000",
         "--latency-seconds", "3", "--tracing", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=310,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["ingest"]["events"] == 30_000
    assert result["raw_consume_messages_per_second"] > 0
    assert result["ingest_to_raw_ratio"] == pytest.approx(
        result["ingest"]["events_per_second"] / result["raw_consume_messages_per_second"], 0.01
    )
    assert 50 < result["ingest"]["peak_rss_mb"] < 2000
    assert result["latency"]["events"] == 6_000
    assert 0 < result["latency"]["p50_seconds"] <= result["latency"]["p99_seconds"]
    assert "ratio" in done.stdout and "peak RSS" in done.stdout
    # --tracing: the same drain with tracing on, side by side with the untraced one
    tracing = result["tracing"]
    assert tracing["off"]["events_per_second"] == result["ingest"]["events_per_second"]
    assert tracing["on"]["events_per_second"] > 0 and 50 < tracing["on"]["peak_rss_mb"] < 2000
    assert tracing["rate_on_to_off"] == pytest.approx(
        tracing["on"]["events_per_second"] / tracing["off"]["events_per_second"], 0.01
    )
    assert tracing["sink"]["spans"] >= 4  # at least a batch span and its three children
    assert tracing["sink"]["bytes"] > 0
    assert "tracing (same messages, same run)" in done.stdout
