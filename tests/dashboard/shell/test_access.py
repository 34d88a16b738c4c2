"""Dashboard login: with an `[auth]` section in the app's secrets, a real OpenID Connect
provider (oidc-provider-mock, a working OIDC server) and a real browser: nothing is shown
before logging in, an allowed user sees the pages, a user outside the allow-list does not.
Without `[auth]` (every other dashboard test) the app is open.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from dashboard_lake import SimulatedLake
from playwright.sync_api import Browser, Page, expect, sync_playwright
from streamlit_server import free_port, stop, streamlit_app, wait_for
from test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

from dashboard.shell.access import is_allowed, provider

USERS = {"alice": "alice@example.com", "mallory": "mallory@elsewhere.org"}


@pytest.fixture(scope="module")
def oidc_provider() -> Iterator[str]:
    """A real OIDC provider on a free port, knowing alice and mallory; yields its issuer URL."""
    port = free_port()
    claims = [
        arg
        for sub, email in USERS.items()
        for arg in ("--user-claims", json.dumps({"sub": sub, "email": email}))
    ]
    process = subprocess.Popen(
        [sys.executable, "-m", "oidc_provider_mock", "--port", str(port), *claims],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    issuer = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{issuer}/.well-known/openid-configuration", process, "the OIDC provider")
        yield issuer
    finally:
        stop(process)


@pytest.fixture(scope="module")
def guarded(simulated: SimulatedLake, oidc_provider: str, tmp_path_factory) -> Iterator[str]:
    """The dashboard requiring login through `oidc_provider`, open to @example.com only."""
    port = free_port()
    secrets = tmp_path_factory.mktemp("secrets") / "secrets.toml"
    secrets.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        'cookie_secret = "a-test-cookie-secret-of-enough-length"\n'
        'client_id = "eventlake-dashboard"\n'
        'client_secret = "not-checked-by-the-test-provider"\n'
        f'server_metadata_url = "{oidc_provider}/.well-known/openid-configuration"\n'
        "\n[eventlake]\n"
        'allowed_users = ["@example.com"]\n'
    )
    log = ARTIFACTS / "streamlit-login.log"
    args = ("--secrets.files", str(secrets))
    with streamlit_app(simulated.settings.lake_root, log, port=port, args=args) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), "Debian chromium is missing: scripts/system-deps.sh chromium"
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def _log_in(page: Page, url: str, sub: str) -> None:
    page.goto(url)
    expect(page.get_by_text("This dashboard requires you to log in.")).to_be_visible(timeout=30_000)
    expect(page.locator('[data-testid="stSidebarNav"]')).to_have_count(0)
    expect(page.locator('[data-testid="stMetric"]')).to_have_count(0)
    page.get_by_role("button", name="Log in").click()
    # The provider's consent page: one button per predefined user.
    page.get_by_role("button", name=sub, exact=True).click(timeout=30_000)


def test_an_allowed_user_logs_in_and_sees_the_dashboard(browser: Browser, guarded: str) -> None:
    page = browser.new_context().new_page()
    _log_in(page, guarded, "alice")
    expect(page.get_by_text(f"Signed in as {USERS['alice']}")).to_be_visible(timeout=30_000)
    expect(page.locator("h1").filter(has_text="Overview").first).to_be_visible(timeout=30_000)
    expect(page.locator('[data-testid="stMetric"]').first).to_be_visible(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "login-allowed.png"), full_page=True)
    page.get_by_role("button", name="Log out").click()
    # Streamlit ends the session at the provider too (its end_session endpoint), then returns.
    page.get_by_role("button", name="End session").click(timeout=30_000)
    expect(page.get_by_text("This dashboard requires you to log in.")).to_be_visible(timeout=30_000)


def test_a_user_outside_the_allow_list_sees_nothing(browser: Browser, guarded: str) -> None:
    page = browser.new_context().new_page()
    _log_in(page, guarded, "mallory")
    expect(page.get_by_text(f"{USERS['mallory']} may not see this dashboard.")).to_be_visible(
        timeout=30_000
    )
    expect(page.locator('[data-testid="stMetric"]')).to_have_count(0)
    expect(page.locator('[data-testid="stSidebarNav"]')).to_have_count(0)


@pytest.mark.parametrize(
    ("email", "allowed", "expected"),
    [
        ("a@example.com", [], True),
        ("a@example.com", ["@example.com"], True),
        ("A@Example.com", ["a@example.com"], True),
        ("a@example.com.evil.org", ["@example.com"], False),
        ("a@notexample.com", ["@example.com"], False),
        (None, ["@example.com"], False),
    ],
)
def test_allow_list(email: str | None, allowed: list[str], expected: bool) -> None:
    assert is_allowed(email, allowed) is expected


def test_provider_of_the_auth_section() -> None:
    assert provider({"redirect_uri": "x", "client_id": "c"}) is None
    assert provider({"redirect_uri": "x", "okta": {"client_id": "c"}}) == "okta"
    with pytest.raises(ValueError, match="one OIDC provider"):
        provider({"redirect_uri": "x", "a": {}, "b": {}})
