"""Cached reads for pages: `st.cache_data` wrappers over `dashboard.queries` with a short ttl.

The ttl is shorter than the live refresh interval, so every refresh of a page re-reads the
lake while several pages and sessions drawn within the same seconds share one read.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import streamlit as st

from dashboard import queries
from eventlake.settings import Settings

TTL_SECONDS = 4


def settings_key(settings: Settings) -> tuple[object, ...]:
    """Returns what identifies a lake for caching: its root and storage options."""
    return (settings.lake_root, tuple(sorted(settings.storage_options.items())))


_cached = st.cache_data(ttl=TTL_SECONDS, show_spinner=False, hash_funcs={Settings: settings_key})


@_cached
def active_users(settings: Settings, first: date, last: date) -> pl.DataFrame:
    """Returns `queries.active_users`, cached for a few seconds."""
    return queries.active_users(settings, first, last)


@_cached
def revenue(settings: Settings, first: date, last: date) -> pl.DataFrame:
    """Returns `queries.revenue`, cached for a few seconds."""
    return queries.revenue(settings, first, last)


@_cached
def data_range(settings: Settings) -> tuple[date, date] | None:
    """Returns `queries.data_range` of the Overview tables, cached for a few seconds."""
    return queries.data_range(settings)


@_cached
def freshness(settings: Settings) -> queries.Freshness:
    """Returns `queries.freshness`, cached for a few seconds."""
    return queries.freshness(settings)
