"""The "as of" control: show any page as the lake was at a past moment or table version.

Delta tables keep their history, so every table a page reads can be read as it was at a moment
(`eventlake.lake.scan(..., version=as_of)`). The user picks either a moment (UTC) or a version of one table; a
version stands for the moment it was committed, and every table of the page is then read as of
that moment, so the figures fit together. While a past moment is shown, live figures and the
auto-refresh are off: the past does not change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time

import streamlit as st

from dashboard.data import cache, reads
from dashboard.data.scope import Scope
from eventlake.catalog import BY_NAME, TableSpec
from eventlake.errors import LakeError
from eventlake.settings import Settings

MODE_KEY = "asof_mode"
DAY_KEY = "asof_day"
TIME_KEY = "asof_time"
TABLE_KEY = "asof_table"
VERSION_KEY = "asof_version"
_RESOLVED_KEY = "_asof_resolved"
LATEST, MOMENT, VERSION = "Latest", "A moment", "A table version"


@dataclass(frozen=True)
class AsOf:
    """A past moment the pages are read at, and how the user chose it (for the banner)."""

    moment: datetime
    label: str


def _moment_picker() -> AsOf:
    today = datetime.now(UTC).date()
    day = st.date_input("Day (UTC)", value=today, key=DAY_KEY, max_value=today)
    clock = st.time_input("Time (UTC)", value=time(0, 0), key=TIME_KEY, step=60)
    moment = datetime.combine(day, clock or time(0, 0), UTC)
    return AsOf(moment, f"{moment:%Y-%m-%d %H:%M} UTC")


def _version_picker(settings: Settings) -> AsOf | None:
    names = cache.existing_tables(settings, Scope())
    if not names:
        st.caption("No tables yet.")
        return None
    name: str = st.selectbox("Table", names, key=TABLE_KEY)
    spec: TableSpec = BY_NAME[name]
    newest = reads.version_at(settings, spec, None) or 0
    if int(st.session_state.get(VERSION_KEY, newest)) > newest:
        st.session_state[VERSION_KEY] = newest  # a table replaced since: keep the widget valid
    version = int(
        st.number_input("Version", min_value=0, max_value=newest, value=newest, key=VERSION_KEY)
    )
    when = reads.commit_time(settings, spec, version)
    if when is None:
        st.caption(f"{name} has no version {version}.")
        return None
    return AsOf(when, f"{name} version {version}, committed {when:%Y-%m-%d %H:%M:%S} UTC")


def asof_sidebar(settings: Settings) -> None:
    """Draws the as-of control in the sidebar; pages read the choice with `current()`."""
    chosen: AsOf | None = None
    mode = st.session_state.get(MODE_KEY, LATEST)
    with st.sidebar.expander("🕰️ As of", expanded=mode != LATEST):
        mode = st.radio(
            "Show the lake",
            (LATEST, MOMENT, VERSION),
            key=MODE_KEY,
            help="Read every table of the page as it was at a past moment (Delta time travel). "
            "A table version stands for the moment it was committed.",
        )
        try:
            if mode == MOMENT:
                chosen = _moment_picker()
            elif mode == VERSION:
                chosen = _version_picker(settings)
        except LakeError as err:
            st.caption(f"🛑 {str(err).splitlines()[0]}")
    st.session_state[_RESOLVED_KEY] = chosen


def current() -> AsOf | None:
    """Returns the past moment chosen in the sidebar, or None for the latest data."""
    found = st.session_state.get(_RESOLVED_KEY)
    return found if isinstance(found, AsOf) else None


def moment() -> datetime | None:
    """Returns the chosen past moment (None: latest), for queries."""
    found = current()
    return None if found is None else found.moment
