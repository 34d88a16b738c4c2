"""What every page shares through the Streamlit session: settings, the day range, live refresh.

The entry script (`dashboard/app.py`) draws the sidebar once per run, before the page; pages
read the choices back with `settings()`, `selected_days()` and `refresh_every()`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import streamlit as st

from dashboard.data import cache
from dashboard.data.scope import Scope
from eventlake.errors import ConfigError, LakeError
from eventlake.settings import Settings

RANGE_KEY = "date_range"  # the sidebar widget's value: (first, last), or (first,) mid-pick
LIVE_KEY = "live_refresh"
_AUTO_KEY = "_date_range_default"  # the default last offered: the range follows new days
_CHOSEN_KEY = "_date_range_chosen"  # the last complete range, kept while a pick is half done
_BOUNDS_KEY = "_date_range_bounds"  # the lake's data range the sidebar was drawn for
_RERUN_KEY = "_date_range_rerun"  # the data range a full rerun was last asked for
DEFAULT_DAYS = 30
REFRESH_SECONDS = 5

DayRange = tuple[date, date]


@st.cache_resource(show_spinner=False)
def _settings_from_env() -> Settings:
    return Settings.from_env()


def settings() -> Settings:
    """Returns the settings read once per server from EVENTLAKE_* variables.

    A variable of the wrong form stops the page with a one-line error, not a traceback.
    """
    try:
        return _settings_from_env()
    except ConfigError as err:
        st.error(f"Configuration error: {err}", icon="⚙️")
        st.stop()
        raise  # unreachable: st.stop() ends the run


def default_range(bounds: DayRange, days: int = DEFAULT_DAYS) -> DayRange:
    """Returns the last `days` days that have data: ending on the last day, clipped at the first."""
    first, last = bounds
    return max(first, last - timedelta(days=days - 1)), last


def clamp_range(chosen: DayRange, bounds: DayRange) -> DayRange | None:
    """Returns `chosen` cut to `bounds`, or None when the two do not overlap."""
    first, last = max(chosen[0], bounds[0]), min(chosen[1], bounds[1])
    return (first, last) if first <= last else None


def next_range(
    current: object, last_default: DayRange | None, default: DayRange, bounds: DayRange
) -> tuple[date, ...]:
    """Returns the value the range widget should hold this run.

    A range equal to the default offered last time was never touched: it moves to the new
    default. A range the user chose stays, cut to `bounds`. A half-done pick (one day) stays
    while it lies within `bounds`. Anything else becomes the default.
    """
    if isinstance(current, tuple | list) and len(current) == 2:
        chosen = (current[0], current[1])
        if chosen == last_default:
            return default
        return clamp_range(chosen, bounds) or default
    if isinstance(current, tuple | list) and len(current) == 1:
        return (current[0],) if bounds[0] <= current[0] <= bounds[1] else default
    return default


def data_bounds(settings: Settings, as_of: datetime | None = None) -> DayRange | None:
    """Returns the first and last day with figures: the Overview's gold tables, and today when
    today's events are already in the log (its live figures need no materialization).

    As of a past moment, only the gold tables as they were then count.
    """
    bounds = cache.data_range(settings, Scope(as_of=as_of))
    if as_of is not None:
        return bounds
    try:
        newest = cache.newest_event_time(settings, Scope())
    except LakeError:
        return bounds  # an unreadable log leaves the gold days; the page reports the error
    today = datetime.now(UTC).date()
    if newest is None or newest.date() != today:
        return bounds
    return (min(bounds[0], today), today) if bounds else (today, today)


def date_range_sidebar(settings: Settings, as_of: datetime | None = None) -> None:
    """Draws the day-range filter in the sidebar; pages read the range with `selected_days()`.

    The choice lives in st.session_state, so it survives page switches. Until the user picks
    a range, it is the default (the last 30 days with data) and follows new days as they land.
    A lake that cannot be read draws no filter here; the page says why.
    """
    try:
        bounds = data_bounds(settings, as_of)
    except LakeError:
        bounds = None
    st.session_state[_BOUNDS_KEY] = bounds
    if bounds is None:
        st.sidebar.caption("📅 No days with data yet.")
        return
    auto = default_range(bounds)
    st.session_state[RANGE_KEY] = next_range(
        st.session_state.get(RANGE_KEY), st.session_state.get(_AUTO_KEY), auto, bounds
    )
    st.session_state[_AUTO_KEY] = auto
    picked = st.sidebar.date_input(
        "📅 Days (UTC)",
        key=RANGE_KEY,
        min_value=bounds[0],
        max_value=bounds[1],
        help=f"Default: the last {DEFAULT_DAYS} days with data. Figures are for the last day.",
        persist_state="session",
    )
    if isinstance(picked, tuple | list) and len(picked) == 2:
        st.session_state[_CHOSEN_KEY] = (picked[0], picked[1])
    elif st.session_state.get(_CHOSEN_KEY) is None:
        st.session_state[_CHOSEN_KEY] = auto


def selected_days() -> DayRange | None:
    """Returns the day range chosen in the sidebar during this run (None on an empty lake)."""
    if st.session_state.get(_BOUNDS_KEY) is None:
        return None
    return st.session_state.get(_CHOSEN_KEY)


def sidebar_outdated(settings: Settings, as_of: datetime | None = None) -> bool:
    """True when new days landed since the sidebar was drawn, so the whole app should rerun.

    Answers True once per new data range: a range that keeps moving can never loop reruns.
    """
    bounds = data_bounds(settings, as_of)
    if bounds in (st.session_state.get(_BOUNDS_KEY), st.session_state.get(_RERUN_KEY)):
        return False
    st.session_state[_RERUN_KEY] = bounds
    return True


def live_sidebar(*, disabled: bool = False) -> None:
    """Draws the live-refresh switch in the sidebar (on by default; off while as of the past)."""
    st.sidebar.toggle(
        f"🔄 Live (every {REFRESH_SECONDS} s)",
        value=True,
        key=LIVE_KEY,
        disabled=disabled,
        help="Re-read the lake and redraw the figures while the page is open; today's figures "
        "come straight from the event log.",
    )


def refresh_every() -> int | None:
    """Returns the seconds between live refreshes, or None when live refresh is off."""
    return REFRESH_SECONDS if st.session_state.get(LIVE_KEY, True) else None
