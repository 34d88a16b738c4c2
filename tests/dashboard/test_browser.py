"""The dashboard in a real browser: `streamlit run` serves the app on the simulated lake, Debian's
chromium (driven by playwright) visits every page through the sidebar, applies a filter, and
saves a screenshot of each page.

Screenshots and the render time of each page go to $EVENTLAKE_TEST_ARTIFACTS/dashboard
(default: test-artifacts/dashboard). Render times are reported, and asserted only loosely:
the 2 s target of docs/service-levels.md is measured by the benchmark, not here.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from dashboard_lake import SimulatedLake
from playwright.sync_api import Page, expect, sync_playwright
from streamlit_server import ROOT, streamlit_app

from dashboard.app import PAGES

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
LOOSE_RENDER_S = 20.0  # a page slower than this is broken, not slow
ARTIFACTS = Path(os.environ.get("EVENTLAKE_TEST_ARTIFACTS", ROOT / "test-artifacts")) / "dashboard"
FILTER = "EUR"  # the currency picked on the first page; every later page must still have it


@pytest.fixture(scope="module")
def served(simulated: SimulatedLake) -> Iterator[str]:
    """The app served by `streamlit run` on the simulated lake; yields its URL."""
    with streamlit_app(simulated.settings.lake_root, ARTIFACTS / "streamlit.log") as url:
        yield url


def _settled(page: Page, title: str) -> None:
    """Waits until the page shows `title` and its script has finished running."""
    expect(page.locator("h1").filter(has_text=title).first).to_be_visible(timeout=30_000)
    app = page.locator('[data-testid="stApp"]')
    expect(app).to_have_attribute("data-test-script-state", "notRunning", timeout=30_000)


def _pick_currency(page: Page) -> None:
    """Picks FILTER in the sidebar's currency filter."""
    box = page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').filter(
        has_text="Currency"
    )
    box.locator("input").click()
    page.get_by_role("option", name=FILTER, exact=True).click()
    page.keyboard.press("Escape")
    expect(page.get_by_text(f"Filters: currency {FILTER}").first).to_be_visible(timeout=30_000)


def _check(page: Page, script: str) -> None:
    """Asserts the page's key elements are there and no exception box is."""
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    expect(page.get_by_text(f"Filters: currency {FILTER}").first).to_be_visible()
    expect(page.get_by_text("How these figures are computed")).to_be_visible()
    if script == "explorer.py":
        page.get_by_role("button", name="A recent user").click()
        expect(page.locator('[data-testid="stMetric"]').first).to_be_visible(timeout=30_000)
        expect(page.locator('[data-testid="stDataFrame"]').first).to_be_attached()  # maybe folded
        return
    expect(page.locator('[data-testid="stMetric"]').first).to_be_visible()
    expect(page.locator('[data-testid="stVegaLiteChart"]').first).to_be_visible(timeout=30_000)
    expect(page.locator('[data-testid="stDataFrame"]').first).to_be_attached()  # maybe folded


def test_every_page_in_a_real_browser(served: str) -> None:
    assert Path(CHROMIUM).exists(), "Debian chromium is missing: scripts/system-deps.sh chromium"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 2200})
            started = time.perf_counter()
            page.goto(served)
            _settled(page, PAGES[0].title)
            timings["first load"] = time.perf_counter() - started
            _pick_currency(page)
            for i, entry in enumerate(PAGES):
                started = time.perf_counter()
                if i:
                    nav = page.locator('[data-testid="stSidebarNav"] a').filter(
                        has_text=entry.title
                    )
                    nav.first.click()
                _settled(page, entry.title)
                _check(page, entry.script)
                timings[entry.title] = time.perf_counter() - started
                shot = ARTIFACTS / f"{i:02d}-{Path(entry.script).stem}.png"
                page.screenshot(path=str(shot), full_page=True)
                assert shot.stat().st_size > 10_000
        finally:
            browser.close()
    (ARTIFACTS / "render-times.json").write_text(json.dumps(timings, indent=2) + "\n")
    print("render times (s): " + ", ".join(f"{k} {v:.2f}" for k, v in timings.items()))
    slow = {k: v for k, v in timings.items() if v > LOOSE_RENDER_S}
    assert not slow, f"pages took over {LOOSE_RENDER_S} s: {slow}"
