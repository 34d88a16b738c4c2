"""The sidebar filters every page shares: currency, plan, signup source, country.

The entry script draws them on every run, before the page, so their values (kept in
st.session_state under the keys below) persist while the user moves between pages. Pages read
them back with `currencies()` and `segment()`; each page says which of its figures they apply to.
"""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from dashboard.data import cache
from dashboard.data.scope import Scope, Segment
from eventlake.errors import LakeError
from eventlake.settings import Settings

CURRENCY_KEY = "filter_currency"
SEGMENT_KEYS: dict[str, str] = {
    "plan": "filter_plan",
    "signup_source": "filter_signup_source",
    "country": "filter_country",
}
_LABELS = {
    CURRENCY_KEY: "💱 Currency",
    "filter_plan": "🎟️ Plan",
    "filter_signup_source": "📣 Signup source",
    "filter_country": "🌍 Country",
}
_HELP = {
    CURRENCY_KEY: "Money figures in these currencies only (none picked: all). Amounts are never "
    "converted between currencies on the Overview and Revenue pages.",
    "filter_plan": "Users whose first signup chose one of these plans (none picked: everyone).",
    "filter_signup_source": "Users whose first signup came from one of these sources.",
    "filter_country": "Users whose first signup gave one of these countries.",
}


def _options(found: list[str], key: str) -> list[str]:
    """The values to offer: those in the lake, plus any still picked (they may come back)."""
    picked = [v for v in st.session_state.get(key, []) if v not in found]
    return [*found, *picked]


def _draw(key: str, found: list[str]) -> None:
    st.sidebar.multiselect(
        _LABELS[key],
        _options(found, key),
        key=key,
        help=_HELP[key],
        placeholder="All",
    )


def filters_sidebar(settings: Settings, as_of: datetime | None = None) -> None:
    """Draws the currency and segment filters (their choices come from the lake)."""
    try:
        options = cache.filter_options(settings, Scope(as_of=as_of))
    except LakeError:
        options = {}
    with st.sidebar:
        st.markdown("**Filters**")
    _draw(CURRENCY_KEY, options.get("currency", []))
    for column, key in SEGMENT_KEYS.items():
        _draw(key, options.get(column, []))


def currencies() -> tuple[str, ...]:
    """Returns the currencies picked in the sidebar (empty: all)."""
    return tuple(st.session_state.get(CURRENCY_KEY, []))


def segment() -> Segment:
    """Returns the users picked in the sidebar by plan, signup source and country."""
    state = st.session_state
    return Segment(
        plans=tuple(state.get(SEGMENT_KEYS["plan"], [])),
        sources=tuple(state.get(SEGMENT_KEYS["signup_source"], [])),
        countries=tuple(state.get(SEGMENT_KEYS["country"], [])),
    )
