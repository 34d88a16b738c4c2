"""Who may see the dashboard: anyone, unless OpenID Connect login is configured.

Login is Streamlit's own (`st.login`): it is switched on by an `[auth]` section in the app's
secrets (`.streamlit/secrets.toml`, or the files given with `--secrets.files`), holding
`redirect_uri`, `cookie_secret` and either the provider's `client_id`, `client_secret` and
`server_metadata_url` directly or one named provider section such as `[auth.okta]`. An
optional `[eventlake]` section narrows who may look once logged in:

    [eventlake]
    allowed_users = ["alice@example.com", "@example.com"]  # addresses, or "@domain"

Without `[auth]` the dashboard is open, as on a laptop; docs/operations.md says how to expose
it safely.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

AUTH_SECTION = "auth"
_PROVIDER_KEYS = {"client_id", "client_secret", "server_metadata_url"}


def _secrets() -> Mapping[str, Any]:
    """Returns the app's secrets, empty when there is no secrets file."""
    try:
        return st.secrets.to_dict()
    except (StreamlitSecretNotFoundError, FileNotFoundError):
        return {}


def provider(auth: Mapping[str, Any]) -> str | None:
    """Returns the provider to pass to `st.login`: None when `[auth]` holds the provider's
    settings itself, else the name of its single provider section.

    Raises:
        ValueError: `[auth]` names several providers (the dashboard would not know which).
    """
    if _PROVIDER_KEYS & auth.keys():
        return None
    named = [name for name, value in auth.items() if isinstance(value, Mapping)]
    if len(named) != 1:
        raise ValueError(
            "[auth] in the dashboard's secrets must hold one OIDC provider "
            f"(found {', '.join(named) or 'none'})"
        )
    return named[0]


def is_allowed(email: str | None, allowed: Sequence[str]) -> bool:
    """Returns whether a logged-in user's e-mail passes `allowed` (empty: everyone logged in).

    An entry is an address (case-insensitive) or "@domain" for everyone of that domain.
    """
    if not allowed:
        return True
    if not email:
        return False
    email = email.strip().lower()
    for entry in (a.strip().lower() for a in allowed):
        if entry == email or (entry.startswith("@") and email.endswith(entry)):
            return True
    return False


def require_login() -> None:
    """Stops the script with a login screen unless the visitor may see the dashboard.

    Does nothing when login is not configured.
    """
    secrets = _secrets()
    auth = secrets.get(AUTH_SECTION)
    if not isinstance(auth, Mapping):
        return
    try:
        name = provider(auth)
    except ValueError as err:
        st.error(str(err))
        st.stop()
    if not st.user.get("is_logged_in", False):
        st.title("🌊 eventlake")
        st.write("This dashboard requires you to log in.")
        st.button("Log in", type="primary", on_click=st.login, args=(name,) if name else ())
        st.stop()
    allowed = secrets.get("eventlake", {}).get("allowed_users", [])
    email = st.user.get("email")
    if not is_allowed(email if isinstance(email, str) else None, allowed):
        st.error(f"{email or 'This account'} may not see this dashboard.")
        st.button("Log out", on_click=st.logout)
        st.stop()
    who = st.user.get("email") or st.user.get("name") or "logged in"
    st.sidebar.caption(f"Signed in as {who}")
    st.sidebar.button("Log out", on_click=st.logout)
