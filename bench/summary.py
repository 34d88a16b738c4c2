"""The benchmarks page's first section: one row per speed promise of docs/service-levels.md.

    .venv/bin/python -m bench.summary             # after the benchmarks, from their results

Reads the JSON each benchmark wrote (bench/results/*.json) and writes the "At a glance" section
of docs/benchmarks.md: per promise its target, the figure measured, the reference measured in
the same run, when, and whether the WHOLE promise is met (a promise with several parts is met
only when every part is). A benchmark that has not written its results yet shows as such.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.report import write_section

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"

Row = tuple[str, str, str, str, str, bool]  # promise, target, measured, reference, when, met


def load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def ingest_rows(r: dict[str, Any]) -> list[Row]:
    t, i, lat = r["targets"], r["ingest"], r["latency"]
    when, raw = (
        r["measured_at"][:10],
        f"raw consume {r['raw_consume_messages_per_second']:,.0f} msg/s",
    )
    whole = f"whole process {i['events_per_second_wall']:,.0f}/s ({i['start_seconds']:.1f} s to first message)"
    return [
        ("ingest throughput", f">= {t['events_per_second']:,} events/s",
         f"{i['events_per_second']:,.0f} events/s; {whole}", raw, when, r["met"]["throughput"]),
        ("ingest efficiency", f">= {t['ratio']} of raw consume", f"{r['ingest_to_raw_ratio']:.2f}",
         raw, when, r["met"]["efficiency"]),
        ("ingest latency", f"p99 <= {t['p99_seconds']} s at 5,000/s",
         f"p99 {lat['p99_seconds']:.2f} s, max {lat['max_seconds']:.2f} s", "–", when,
         r["met"]["latency"]),
        ("ingester memory", f"<= {t['peak_rss_mb']} MB", f"{i['peak_rss_mb']:.0f} MB", "–", when,
         r["met"]["memory"]),
    ]  # fmt: skip


def projection_rows(r: dict[str, Any]) -> list[Row]:
    p, when = r["phases"], r["measured_on"]
    equal = all(
        v == "equal" for k in ("duckdb", "duckdb_day") for v in p[k]["cross_check"].values()
    )
    full_ok = (p["full"]["seconds"] <= min(90.0, p["duckdb"]["seconds"])
               and p["full"]["peak_rss_mb"] <= 4096 and equal)  # fmt: skip
    day_ok = p["day"]["seconds"] <= min(10.0, p["duckdb_day"]["seconds"]) and equal
    same = "; every table equal" if equal else "; tables DIFFER"
    return [
        ("projections: full rebuild", "<= 90 s, <= 4 GB, <= DuckDB",
         f"{p['full']['seconds']:.1f} s, {p['full']['peak_rss_mb'] / 1024:.2f} GB",
         f"DuckDB {p['duckdb']['seconds']:.1f} s{same}", when, full_ok),
        ("projections: one day and its windows", "<= 10 s, <= DuckDB",
         f"{p['day']['seconds']:.1f} s", f"DuckDB {p['duckdb_day']['seconds']:.1f} s{same}",
         when, day_ok),
    ]  # fmt: skip


def dashboard_rows(r: dict[str, Any]) -> list[Row]:
    cells = [(page, probe, c["cold_p95_ms"]) for page, probes in r["pages"].items()
             for probe, c in probes.items()]  # fmt: skip
    worst = max(cells, key=lambda c: c[2])
    over = sum(ms > r["target_ms"] for _, _, ms in cells)
    browser = r.get("browser") or {}
    pages_ok = bool(browser) and max(browser["pages"].values()) <= r["browser_target_s"]
    first_ok = bool(browser) and browser["first_load_s"] <= r["browser_target_s"]
    lookup = [c for c in cells if "event id" in c[0] and c[1] == "default"]
    return [
        ("dashboard: every page and filter, cold p95", f"<= {r['target_ms']:.0f} ms",
         f"{over} of {len(cells)} over; worst {worst[2]:.0f} ms ({worst[0]}, {worst[1]})", "–",
         r["measured_on"], over == 0),
        ("dashboard: an event id across all days", f"<= {r['target_ms']:.0f} ms",
         f"p95 {lookup[0][2]:.0f} ms" if lookup else "not measured", "–", r["measured_on"],
         bool(lookup) and lookup[0][2] <= r["target_ms"]),
        ("dashboard: a page in the browser, the first included", f"<= {r['browser_target_s']} s",
         (f"worst page {max(browser['pages'].values()):.2f} s, first {browser['first_load_s']:.1f} s"
          if browser else "not measured"), "–", r["measured_on"], pages_ok and first_ok),
    ]  # fmt: skip


def api_rows(r: dict[str, Any]) -> list[Row]:
    worst = max(r["results"], key=lambda x: x["p95_ms"])
    return [
        (
            "API: every figure over HTTP, p95",
            f"<= {r['target_ms']:.0f} ms",
            f"worst {worst['p95_ms']:.0f} ms ({worst['probe']})",
            "–",
            r["measured_on"],
            r["met"],
        )
    ]


def freshness_rows(r: dict[str, Any]) -> list[Row]:
    worst = max(r["phases"], key=lambda p: p["p99_s"])
    return [("freshness: event to gold, p99 at every rate", f"<= {r['target_p99_s']:.0f} s",
             f"worst {worst['p99_s']:.1f} s ({worst['phase']}); queue max "
             f"{max(p['queue_max'] for p in r['phases'])}", "–",
             r["measured_at"][:16].replace("T", " "),
             all(p["met"] for p in r["phases"]))]  # fmt: skip


SOURCES = {
    "ingest": ingest_rows,
    "projections": projection_rows,
    "freshness": freshness_rows,
    "dashboard": dashboard_rows,
    "api": api_rows,
}


def markdown() -> str:
    """Returns the At a glance section."""
    lines = ["## At a glance", "",
             "One row per speed promise of [service-levels.md](service-levels.md), from the last "
             "run of each benchmark (sections below); `met` only when the whole promise is. "
             "Written by `.venv/bin/python -m bench.summary`.", "",
             "| promise | target | measured | reference, same run | measured on | met |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for name, rows in SOURCES.items():
        found = load(name)
        if found is None:
            lines.append(f"| {name} | | not measured yet | | | no |")
            continue
        for promise, target, measured, reference, when, ok in rows(found):
            lines.append(f"| {promise} | {target} | {measured} | {reference} | {when} | "
                         f"{'**met**' if ok else '**not met**'} |")  # fmt: skip
    return "\n".join([*lines, ""])


def main() -> int:
    text = markdown()
    print(text)
    write_section(ROOT / "docs" / "benchmarks.md", "At a glance", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
