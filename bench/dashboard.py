"""Dashboard benchmark (docs/service-levels.md): every page's queries at 10M events, against 300 ms.

    .venv/bin/python -m bench.dashboard              # or: make bench-dashboard

Builds (once, then reuses) a 10M-event lake over 90 days with the projection benchmark's own
phases (bench/events.py + materialize), adds ingest batches, dead letters, restatements and
reconciliation results (bench/dashboard_lake.py), then times each page's queries exactly as
the page makes them, through `dashboard.data.cache` (bench/dashboard_pages.py):

- cold: the dashboard's cache emptied first (Delta logs re-read, files re-scanned; the OS page
  cache stays warm, as on a server that has been up a while);
- warm: the same page again within the cache ttl (another session, a page switch);
- refresh: the page again once the 4-second caches expired, the minute-long ones (the days
  before today that the live figures need, the filter choices) still held: a live refresh;
- filtered: cold, with the country filter set (figures rebuilt from silver for those users).

With --browser, also serves the app with `streamlit run` and times each page in Debian's
chromium until it is fully drawn (target 2 s). Prints a table, writes
bench/results/dashboard.json and the "Dashboard" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from bench.dashboard_lake import busiest_recent_day, ensure_lake, refresh_batches
from bench.dashboard_pages import EXTRA, PAGES, Probe, Run, utc_now
from bench.dashboard_report import print_table, write_docs, write_results
from dashboard.data import cache, lake_state
from dashboard.data.scope import Scope, Segment
from eventlake import lake
from eventlake.catalog import BRONZE_EVENTS, SILVER_USER_ACTIVITY_DAILY
from eventlake.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
TARGET_MS = 300.0
BROWSER_TARGET_S = 2.0
FILTER = Segment(countries=("DE",))
DEFAULT_WORKDIR = Path(tempfile.gettempdir()) / "eventlake-dashboard-bench"


def probe(settings: Settings, first: date, day: date, *, busiest: bool = False) -> Probe:
    """Returns a user active on `day` and an event id from the middle of the range.

    The user is a typical one (the median number of active days among those of `day`), or,
    with `busiest`, the one with the most active days: their history reads the most days.
    """
    active = lake.scan(settings, SILVER_USER_ACTIVITY_DAILY)
    today = active.filter(pl.col("day") == day).select("user_id")
    counts = (
        active.join(today, on="user_id", how="semi")
        .group_by("user_id")
        .agg(days=pl.len())
        .sort("days", "user_id")
        .collect()
    )
    user = counts["user_id"][-1 if busiest else counts.height // 2]

    def event_on(when: date) -> str:
        found = lake.scan_days(settings, BRONZE_EVENTS, when, when).select("event_id").head(1)
        return found.collect().item()

    middle = first + (day - first) // 2
    return Probe(
        user=user, event_id=event_on(middle), recent_event_id=event_on(day - timedelta(days=3))
    )


def wait_quiet(minutes: float, quiet: float = 1.0) -> float:
    """Waits until the 1-minute load average drops below `quiet` (other benchmarks and tests
    share this 2-core machine), at most `minutes`; returns the load average then."""
    deadline = time.monotonic() + minutes * 60
    load = os.getloadavg()[0]
    while load >= quiet and time.monotonic() < deadline:
        print(f"  waiting for a quiet machine (load {load:.1f})", file=sys.stderr, flush=True)
        time.sleep(15)
        load = os.getloadavg()[0]
    return load


def time_page(page: str, run: Run, rounds: int) -> dict[str, float]:
    """Times one page's queries `rounds` times cold, warm and on a live refresh; returns the
    medians and the worst cold."""
    cold, warm, refresh = [], [], []
    for _ in range(rounds):
        for clear, times in (
            (cache.clear, cold),
            (lambda: None, warm),
            (cache.clear_short, refresh),
        ):
            clear()
            started = time.perf_counter()
            (PAGES.get(page) or EXTRA[page])(run)
            times.append((time.perf_counter() - started) * 1000)
    return {
        "cold_ms": round(statistics.median(cold), 1),
        "cold_max_ms": round(max(cold), 1),
        "warm_ms": round(statistics.median(warm), 2),
        "refresh_ms": round(statistics.median(refresh), 1),
    }


def main(argv: list[str] | None = None) -> int:
    """Runs the benchmark; returns 1 when a page misses its target."""
    parser = argparse.ArgumentParser(prog="bench.dashboard", description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--rounds", type=int, default=5, help="timings per page (median shown)")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR,
                        help=f"where the lake is built and kept (default {DEFAULT_WORKDIR})")  # fmt: skip
    parser.add_argument("--browser", action="store_true", help="also time pages in chromium")
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite the docs section")
    parser.add_argument("--wait-quiet", type=float, default=10.0, metavar="MINUTES",
                        help="wait up to this long for a quiet machine (load < 1) first")  # fmt: skip
    args = parser.parse_args(argv)
    from bench.phases import settings_for  # the projection benchmark's lake settings

    settings = settings_for(args.workdir, args.days)
    built = ensure_lake(args.workdir, settings, args.events, args.days)
    load_before = wait_quiet(args.wait_quiet)
    now = utc_now()
    refresh_batches(settings, now)
    first_day, last_day = lake_state.data_range(settings, Scope()) or (date.min, date.min)
    first = max(first_day, last_day - timedelta(days=29))
    scope = Scope(first, last_day)
    live_day = busiest_recent_day(settings, last_day)
    run = Run(settings, scope, live_day, probe(settings, first, live_day), now)
    filtered = replace(run, scope=replace(scope, segment=FILTER))
    bronze_rows = lake.scan(settings, BRONZE_EVENTS).select(pl.len()).collect().item()
    pages = {}
    for page in PAGES:
        pages[page] = time_page(page, run, args.rounds)
        pages[page]["filtered_cold_ms"] = time_page(page, filtered, max(1, args.rounds // 2))[
            "cold_ms"
        ]
        print(f"  {page}: {pages[page]['cold_ms']:.0f} ms cold", file=sys.stderr, flush=True)
    heavy = replace(run, probe=probe(settings, first, live_day, busiest=True))
    extra = {name: time_page(name, run, args.rounds) for name in EXTRA}
    extra["Event explorer: the busiest user's history"] = time_page(
        "Event explorer: a typical user's history", heavy, args.rounds
    )
    browser = None
    if args.browser:
        from bench.dashboard_browser import render_times

        browser = render_times(settings)
    report = {
        "command": ".venv/bin/python -m bench.dashboard" + (" --browser" if args.browser else ""),
        "measured_on": date.today().isoformat(),
        "machine": f"{os.cpu_count()} cores",
        "lake": built,
        "events": bronze_rows,
        "days": args.days,
        "range": [str(first), str(last_day)],
        "live_day": str(run.live_day),
        "filter": "country DE",
        "rounds": args.rounds,
        "target_ms": TARGET_MS,
        "pages": pages,
        "extra": extra,
        "browser": browser,
        "browser_target_s": BROWSER_TARGET_S,
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }
    ok = print_table(report)
    write_results(ROOT / "bench" / "results" / "dashboard.json", report)
    if not args.no_docs:
        write_docs(ROOT / "docs" / "benchmarks.md", report)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
