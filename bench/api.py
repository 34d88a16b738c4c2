"""API benchmark (docs/service-levels.md): every figure over HTTP at 10M events, against 300 ms.

    .venv/bin/python -m bench.api              # or: make bench-api

Reuses (or builds) the dashboard benchmark's 10M-event lake (bench/dashboard_lake.py), starts
`eventlake api` on it on a free port, and times each figure from the request to the last byte
of the answer (query, JSON encoding and HTTP included): the default view (the last 30 days),
a 90-day range, a segment (country DE), a currency where the figure takes one, and an event
type for `events_daily`. Each probe is asked `--rounds` times with a different range each time
(the same length, shifted a day), so no two requests read the same days; the first request of
a probe is its cold one (its Delta logs, file lists and segment read for the first time).
Prints p95 and worst per probe, writes bench/results/api.json and the "API" section of
docs/benchmarks.md. The budget is the dashboard's: p95 <= 300 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.dashboard import DEFAULT_WORKDIR
from bench.dashboard_lake import ensure_lake
from bench.report import write_section

ROOT = Path(__file__).resolve().parents[1]
TARGET_MS = 300.0
EVENTLAKE = str(Path(sys.executable).parent / "eventlake")


def probes(last: date) -> list[tuple[str, str, dict[str, Any], int]]:
    """Returns (label, path, params, days) of every timed request shape."""
    figures = ["daily_active_users", "revenue_daily", "revenue_by_product", "product_performance",
               "funnel_daily", "sessions_daily", "lifecycle_daily", "cohort_retention",
               "events_daily"]  # fmt: skip
    out: list[tuple[str, str, dict[str, Any], int]] = []
    for name in figures:
        path = f"/v1/figures/{name}"
        out += [(f"{name}", path, {}, 30), (f"{name}, 90 days", path, {}, 90),
                (f"{name}, country DE", path, {"country": "DE"}, 30)]  # fmt: skip
        if name in ("revenue_daily", "revenue_by_product"):
            out.append((f"{name}, currency EUR", path, {"currency": "EUR"}, 30))
        if name == "events_daily":
            out.append((f"{name}, order_placed", path, {"event_type": "order_placed"}, 30))
    out += [("customer_rfm", "/v1/figures/customer_rfm", {}, 0),
            ("customer_rfm, country DE", "/v1/figures/customer_rfm", {"country": "DE"}, 0)]  # fmt: skip
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def timed(client: httpx.Client, path: str, params: dict[str, Any]) -> float:
    """Returns the milliseconds from request to the last byte; raises unless 200."""
    started = time.perf_counter()
    response = client.get(path, params=params)
    response.read()
    ms = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise SystemExit(f"{path} {params}: {response.status_code} {response.text[:200]}")
    return ms


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def measure(url: str, last: date, rounds: int) -> list[dict[str, Any]]:
    """Times every probe `rounds` times, each over days shifted one day earlier."""
    found = []
    with httpx.Client(base_url=url, timeout=60) as client:
        for label, path, params, days in probes(last):
            times = []
            for shift in range(rounds):
                end = last - timedelta(days=shift)
                span = {"from": str(end - timedelta(days=days - 1)), "to": str(end)} if days else {}
                times.append(timed(client, path, {**params, **span}))
            found.append({"probe": label, "first_ms": round(times[0], 1),
                          "p95_ms": round(p95(times), 1), "worst_ms": round(max(times), 1)})  # fmt: skip
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.api", description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--rounds", type=int, default=20, help="requests per probe")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR,
                        help="the dashboard benchmark's lake (kept between runs)")  # fmt: skip
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite the docs section")
    args = parser.parse_args(argv)
    from bench.phases import settings_for  # the projection benchmark's lake

    settings = settings_for(args.workdir, args.days)
    print(ensure_lake(args.workdir, settings, args.events, args.days), file=sys.stderr)
    last = settings.start_date + timedelta(days=args.days - 1)
    port = free_port()
    env = {**os.environ, "EVENTLAKE_LAKE_ROOT": settings.lake_root}
    server = subprocess.Popen([EVENTLAKE, "api", "--port", str(port), "--log-level", "WARNING"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        results = measure(url, last, args.rounds)
    finally:
        server.terminate()
        server.wait(10)
    met = all(r["p95_ms"] <= TARGET_MS for r in results)
    report = {"command": ".venv/bin/python -m bench.api", "measured_on": date.today().isoformat(),
              "machine": f"{os.cpu_count()} cores", "rounds": args.rounds, "results": results,
              "target_ms": TARGET_MS, "met": met}  # fmt: skip
    width = max(len(r["probe"]) for r in results)
    print(f"{'probe':<{width}}  {'first':>8}  {'p95':>8}  {'worst':>8}")
    for r in results:
        print(f"{r['probe']:<{width}}  {r['first_ms']:>6.0f}ms  {r['p95_ms']:>6.0f}ms  "
              f"{r['worst_ms']:>6.0f}ms")  # fmt: skip
    print("API: " + ("met" if met else "NOT met") + f" (p95 <= {TARGET_MS:.0f} ms everywhere)")
    out = ROOT / "bench" / "results" / "api.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    if not args.no_docs:
        write_section(ROOT / "docs" / "benchmarks.md", "API", markdown(report, args))
    return 0 if met else 1


def markdown(report: dict[str, Any], args: argparse.Namespace) -> str:
    """Returns the API section of docs/benchmarks.md."""
    rows = [f"| {r['probe']} | {r['p95_ms']:.0f} ms | {r['worst_ms']:.0f} ms | "
            f"{r['first_ms']:.0f} ms |" for r in report["results"]]  # fmt: skip
    return "\n".join([
        "## API", "",
        f"Command: `{report['command']}` (or `make bench-api`). Measured {report['measured_on']} "
        f"on the reference machine ({report['machine']}, 24 GB), on the dashboard benchmark's "
        f"lake ({args.events:,} events over {args.days} days): each figure over HTTP from "
        "`eventlake api`, request to last byte, "
        f"{report['rounds']} requests per probe, each over a range shifted one day (no two "
        "alike); `first` is the probe's first request.", "",
        "| probe | p95 | worst | first |", "|---|---|---|---|", *rows, "",
        "Result: API target (p95 <= 300 ms on every probe) "
        + ("**met**." if report["met"] else "**NOT met**."), "",
    ])  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
