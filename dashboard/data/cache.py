"""Cached reads for pages: `st.cache_data` wrappers over the plain query functions.

The ttl is shorter than the live refresh interval, so every refresh of a page re-reads the
lake while several pages and sessions drawn within the same seconds share one read. What
changes only when earlier days are re-materialized (the users and orders before today that the
live figures need, the filter choices) is kept a minute.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, ParamSpec, TypeVar

import streamlit as st

from dashboard.data import (
    audit,
    commerce,
    explorer,
    kafka,
    lake_state,
    live,
    overview,
    people,
    pipeline,
    reads,
    segments,
)
from dashboard.data.scope import Segment
from eventlake.catalog import TableSpec
from eventlake.settings import Settings

TTL_SECONDS = 4
P = ParamSpec("P")
R = TypeVar("R")
SLOW_TTL_SECONDS = 60


def settings_key(settings: Settings) -> tuple[object, ...]:
    """Returns what identifies a lake for caching: its root, storage options and broker."""
    return (
        settings.lake_root,
        tuple(sorted(settings.storage_options.items())),
        settings.kafka_bootstrap,
    )


_hash: dict[str | type[Any], Callable[[Any], Any]] = {
    Settings: settings_key,
    TableSpec: lambda spec: spec.name,
}
_short = st.cache_data(ttl=TTL_SECONDS, show_spinner=False, hash_funcs=_hash)
_kept = st.cache_data(ttl=SLOW_TTL_SECONDS, show_spinner=False, hash_funcs=_hash)
SHORT_LIVED: list[Any] = []  # the cached functions of the short ttl, for `clear_short`


def _cached(func: Callable[P, R]) -> Callable[P, R]:
    """Caches `func` for TTL_SECONDS (and registers it with `clear_short`)."""
    cached = _short(func)
    SHORT_LIVED.append(cached)
    return cached


# Overview and freshness
active_users = _cached(overview.active_users)
revenue = _cached(overview.revenue)
data_range = _cached(lake_state.data_range)
freshness = _cached(lake_state.freshness)
newest_event_time = _cached(lake_state.newest_event_time)
# Revenue, Products, Funnel
revenue_by_product = _cached(commerce.revenue_by_product)
product_performance = _cached(commerce.product_performance)
funnel = _cached(commerce.funnel)
products = _kept(commerce.products)
# Retention, Customers, Lifecycle, Sessions
cohorts = _cached(people.cohorts)
customers = _cached(people.customers)
lifecycle = _cached(people.lifecycle)
sessions = _cached(people.sessions)
session_lengths = _cached(people.session_lengths)
# Filters and the audit trail
filter_options = _kept(segments.filter_options)
restatements = _cached(audit.restatements)
reconciliation = _cached(audit.reconciliation)
reconciliation_runs = _cached(audit.reconciliation_runs)
# Pipeline health
ingest_minutes = _cached(pipeline.ingest_minutes)
partition_offsets = _cached(pipeline.partition_offsets)
dead_letters_by_code = _cached(pipeline.dead_letters_by_code)
recent_dead_letters = _cached(pipeline.recent_dead_letters)
table_states = _cached(pipeline.table_states)
existing_tables = _cached(pipeline.existing_tables)
kafka_end_offsets = _cached(kafka.end_offsets)
# Event explorer (looked up on demand; a minute is enough for re-drawing the same answer)
event_by_id = _cached(explorer.event_by_id)
aggregate_history = _cached(explorer.aggregate_history)
user_profile = _cached(explorer.user_profile)
recent_user = _cached(explorer.recent_user)
dead_letters_of = _cached(explorer.dead_letters_of)
# Live: the parts before today change only with late data
past_last_active = _kept(live.past_last_active)
past_order_ids = _kept(live.past_order_ids)


@_cached
def live_day(
    settings: Settings, day: date, segment: Segment, *, revenue_only: bool = False
) -> live.LiveDay:
    """Returns `live.live_day` of `day`, its slowly changing inputs cached a minute.

    With `revenue_only`, only today's revenue is computed (the Revenue page's need).
    """
    users = None if revenue_only else past_last_active(settings, day, segment)
    return live.live_day(settings, day, segment, users, past_order_ids(settings, day))


def clear() -> None:
    """Empties every cache of the dashboard (tests; a lake replaced under a running app)."""
    st.cache_data.clear()
    reads.clear_memo()


def clear_short() -> None:
    """Empties the short-lived caches only: what a live refresh finds once their ttl passed."""
    for cached in SHORT_LIVED:
        cached.clear()
