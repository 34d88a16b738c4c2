"""Render time of every dashboard page in a real browser: `streamlit run` on the benchmark lake,
Debian's chromium driven by playwright, from the click in the sidebar to the page fully drawn
(the script finished and its charts on screen)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

from dashboard.app import PAGES
from eventlake.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def _serve(settings: Settings, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "EVENTLAKE_LAKE_ROOT": settings.lake_root,
           "EVENTLAKE_START_DATE": settings.start_date.isoformat(),
           "EVENTLAKE_KAFKA_BOOTSTRAP": "127.0.0.1:9"}  # fmt: skip
    cmd = [sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.address",
           "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
           "--browser.gatherUsageStats", "false"]  # fmt: skip
    with log.open("w") as out:
        server = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.read() == b"ok":
                    return server, url
        except OSError:
            time.sleep(0.2)
    os.killpg(server.pid, signal.SIGKILL)
    raise SystemExit(f"streamlit did not start: see {log}")


def _drawn(page: Page, title: str, charts: bool) -> None:
    expect(page.locator("h1").filter(has_text=title).first).to_be_visible(timeout=60_000)
    app = page.locator('[data-testid="stApp"]')
    expect(app).to_have_attribute("data-test-script-state", "notRunning", timeout=60_000)
    if charts:
        expect(
            page.locator(
                '[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg'
            ).first
        ).to_be_visible(timeout=60_000)


def render_times(settings: Settings) -> dict[str, object]:
    """Returns the seconds from navigation to fully drawn, per page (and the first load)."""
    log = Path(tempfile.gettempdir()) / "eventlake-bench-streamlit.log"
    server, url = _serve(settings, log)
    times: dict[str, float] = {}
    try:
        with sync_playwright() as driver:
            browser = driver.chromium.launch(
                executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
            )
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            started = time.perf_counter()
            page.goto(url)
            _drawn(page, PAGES[0].title, charts=True)
            first_load = time.perf_counter() - started
            for entry in (*PAGES[1:], PAGES[0]):  # from another page to each, home last
                link = page.locator('[data-testid="stSidebarNav"] a').filter(has_text=entry.title)
                started = time.perf_counter()
                link.first.click()
                _drawn(page, entry.title, charts=entry.script != "explorer.py")
                times[entry.title] = round(time.perf_counter() - started, 2)
            browser.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(10)
    return {"first_load_s": round(first_load, 2), "pages": times}
