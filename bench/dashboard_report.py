"""Printing and recording the dashboard benchmark: terminal table, JSON results, docs section."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.report import write_section

SECTION = "## Dashboard"
BUSY_LOAD = 2.5  # a load average above this on 2 cores: other work was running


def met(report: dict[str, Any]) -> bool:
    """True when every page's cold queries (median) meet the target, and, when measured,
    every page rendered in the browser within its target."""
    target = report["target_ms"]
    fast = all(p["cold_ms"] <= target for p in report["pages"].values())
    browser = report.get("browser") or {}
    drawn = all(s <= report["browser_target_s"] for s in browser.get("pages", {}).values())
    return fast and drawn


def rows(report: dict[str, Any]) -> list[tuple[str, ...]]:
    """Returns (page, cold, worst cold, warm, filtered cold, target) rows."""
    target = f"<= {report['target_ms']:.0f} ms"
    found = [
        (page, f"{p['cold_ms']:.0f} ms", f"{p['cold_max_ms']:.0f} ms", f"{p['warm_ms']:.1f} ms",
         f"{p['refresh_ms']:.0f} ms", f"{p['filtered_cold_ms']:.0f} ms", target)
        for page, p in report["pages"].items()
    ]  # fmt: skip
    found += [
        (f"({page})", f"{p['cold_ms']:.0f} ms", f"{p['cold_max_ms']:.0f} ms",
         f"{p['warm_ms']:.1f} ms", f"{p['refresh_ms']:.0f} ms", "–", "informative")
        for page, p in report.get("extra", {}).items()
    ]  # fmt: skip
    return found


def _busy(report: dict[str, Any]) -> str:
    before, after = report["load_average"]
    if max(before, after) <= BUSY_LOAD:
        return ""
    return (
        f"The machine was busy (load average {before:.1f} before, {after:.1f} after, on 2 "
        "cores): other benchmarks or tests were running, so these figures are pessimistic."
    )


def print_table(report: dict[str, Any]) -> bool:
    """Prints the figures beside their target; returns `met(report)`."""
    table = rows(report)
    heads = ("page (sidebar + page queries)", "cold", "worst cold", "warm", "refresh", "filtered",
             "target")  # fmt: skip
    widths = [max(len(r[i]) for r in (heads, *table)) for i in range(len(heads))]
    print(f"dashboard: {report['events']:,} events over {report['days']} days, range "
          f"{report['range'][0]}..{report['range'][1]}, live day {report['live_day']} ({report['lake']})")  # fmt: skip
    for r in (heads, *table):
        print(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )
    browser = report.get("browser")
    if browser:
        print(f"browser (chromium, click to fully drawn; target <= {report['browser_target_s']:.0f} s): "
              + ", ".join(f"{k} {v:.2f} s" for k, v in browser["pages"].items()))  # fmt: skip
    if _busy(report):
        print(_busy(report))
    ok = met(report)
    print("dashboard: " + ("met" if ok else "NOT met"))
    return ok


def write_results(path: Path, report: dict[str, Any]) -> None:
    """Writes the whole report as JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")


def markdown(report: dict[str, Any]) -> str:
    """Returns the "Dashboard" section of docs/benchmarks.md."""
    lines = [
        SECTION,
        "",
        f"Command: `{report['command']}` (`make bench-dashboard` runs it without the browser "
        "part). Measured "
        f"{report['measured_on']} on the reference machine ({report['machine']}, 24 GB): "
        f"{report['events']:,} bronze events over {report['days']} days (the projection "
        "benchmark's generator and materialization), plus 130,000 ingest batches, 5,000 dead "
        "letters, a restatement ledger and 30 nightly reconciliation runs. Each page's queries "
        "are the calls the page makes through `dashboard.data.cache`, the sidebar's included, over "
        f"the default range ({report['range'][0]} .. {report['range'][1]}, 30 days); the "
        f'Overview and Revenue pages also compute "today" live from the log (timed on '
        f"{report['live_day']}, the last full day of the generated data). Median of "
        f"{report['rounds']} runs; **cold** = the dashboard's cache emptied first (every Delta "
        "log and file read again; the OS page cache warm), **warm** = within the 4-s cache ttl "
        "(another session, a page switch), **refresh** = a live refresh (the 4-s caches "
        "expired, the minute-long ones of earlier days still held), **filtered** = cold with "
        f"the {report['filter']} filter (figures rebuilt from silver for those users). Rows in "
        "brackets are searches a user asks for beyond a page's default (an event id over all "
        "30 selected days instead of their last 7; the history of the busiest user, active on "
        "every day): reported, not held to the target. The log is partitioned by day only, so "
        "their cost grows with the days they read.",
        "",
        "| page (sidebar + page queries) | cold | worst cold | warm | refresh | filtered | target |",
        "|---|---|---|---|---|---|---|",
        *(f"| {' | '.join(r)} |" for r in rows(report)),
        "",
    ]
    browser = report.get("browser")
    if browser:
        lines += [
            f"Real browser (Debian chromium via playwright, `streamlit run`; from the click in the "
            f"sidebar to the page fully drawn, charts included; target <= "
            f"{report['browser_target_s']:.0f} s): "
            + ", ".join(f"{k} {v:.2f} s" for k, v in browser["pages"].items())
            + f"; the first page of a freshly started server {browser['first_load_s']:.2f} s "
            "(its imports, Dagster's among them, and every cache cold).",
            "",
        ]
    if _busy(report):
        lines += [_busy(report), ""]
    lines += [
        "Result: dashboard target " + ("**met**." if met(report) else "**NOT met**."),
        "",
    ]
    return "\n".join(lines)


def write_docs(path: Path, report: dict[str, Any]) -> None:
    """Replaces (or adds) the Dashboard section of the benchmarks page, leaving others alone."""
    write_section(path, "Dashboard", markdown(report))
