"""The dashboard benchmark's accounting: the 95th percentile, and "met" over every cell."""

from __future__ import annotations

from typing import Any

from bench.dashboard import p95
from bench.dashboard_report import markdown, met


def _cell(p95_ms: float, worst_ms: float) -> dict[str, float]:
    return {"cold_p95_ms": p95_ms, "cold_max_ms": worst_ms}


def _report(pages: dict[str, dict[str, dict[str, float]]], **extra: Any) -> dict[str, Any]:
    return {
        "command": "x", "measured_on": "2026-12-03", "machine": "2 cores", "events": 10,
        "days": 90, "range": ["2026-03-04", "2026-04-02"], "live_day": "2026-03-31",
        "probes": ["default", "country DE"], "rounds": 20, "target_ms": 300.0, "pages": pages,
        "browser_target_s": 2.0, "load_average": [0.5, 0.5], **extra,
    }  # fmt: skip


def test_p95_is_the_nearest_rank_so_one_slow_run_in_twenty_is_not_dropped() -> None:
    runs = [float(i) for i in range(1, 21)]  # 1 .. 20
    assert p95(runs) == 19.0
    assert p95([*runs[:19], 500.0]) == 19.0  # the worst is reported beside it
    assert p95([*runs[:18], 400.0, 500.0]) == 400.0
    assert p95([7.0]) == 7.0


def test_met_needs_every_probe_of_every_page_within_the_target() -> None:
    fine = {"default": _cell(250, 320), "country DE": _cell(290, 310)}
    assert met(_report({"Funnel": fine, "Lifecycle": fine}))
    slow_filter = {**fine, "country DE": _cell(301, 320)}
    assert not met(_report({"Funnel": fine, "Lifecycle": slow_filter}))


def test_met_needs_the_browser_pages_and_the_first_load_within_theirs() -> None:
    pages = {"Funnel": {"default": _cell(100, 120)}}
    quick = {"first_load_s": 1.9, "pages": {"Funnel": 0.5}}
    assert met(_report(pages, browser=quick))
    assert not met(_report(pages, browser={**quick, "first_load_s": 2.1}))
    assert not met(_report(pages, browser={**quick, "pages": {"Funnel": 2.5}}))


def test_the_docs_table_shows_p95_and_worst_per_probe_and_the_verdict() -> None:
    pages = {"Funnel": {"default": {**_cell(100, 120), "warm_p95_ms": 2.0, "warm_max_ms": 3.0,
                                    "refresh_p95_ms": 50.0, "refresh_max_ms": 60.0},
                        "country DE": _cell(310, 330)}}  # fmt: skip
    text = markdown(_report(pages))
    assert "| Funnel | 100 / 120 | 310 / 330 | 2 / 3 | 50 / 60 |" in text
    assert "**NOT met**" in text
