"""Cached reads for pages: `st.cache_data` wrappers over the plain query functions.

The ttl is shorter than the live refresh interval, so every refresh of a page re-reads the
lake while several pages and sessions drawn within the same seconds share one read. What
changes only when earlier days are re-materialized (the users and orders before today that the
live figures need, the filter choices) is kept a minute.

Every query takes `(settings, scope)`. A query that reads only some fields of the scope is
keyed on those alone (`Scope.narrowed`): a page's filters do not split the cache of a query
they do not change, and since the query itself is handed the narrowed scope, a field it reads
but was not listed for it would show as a wrong figure on every call, never as another scope's
answer served from the cache.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import streamlit as st

from dashboard.data import (
    audit,
    commerce,
    explorer,
    intraday,
    kafka,
    lake_state,
    live,
    overview,
    people,
    pipeline,
    reads,
    segments,
)
from dashboard.data import freshness as event_to_gold_data  # `freshness` below is lake_state's
from dashboard.data.scope import Scope
from eventlake.catalog import TableSpec
from eventlake.settings import Settings
from telemetry import tracing

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


def _traced(name: str, func: Callable[P, R]) -> Callable[P, R]:
    """Returns `func` recording a span per call while tracing is on (docs/operations.md)."""

    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        if not tracing.is_on():
            return func(*args, **kwargs)
        with tracing.span(f"dashboard query {name}"):
            return func(*args, **kwargs)

    call.__doc__ = func.__doc__
    return call


def _cached(func: Callable[P, R]) -> Callable[P, R]:
    """Caches `func` for TTL_SECONDS (and registers it with `clear_short`); traced."""
    cached = _short(func)
    SHORT_LIVED.append(cached)
    return _traced(func.__name__, cached)


Query = Callable[[Settings, Scope], R]


def _keyed(cached: Query[R], fields: tuple[str, ...]) -> Query[R]:
    """Returns `cached` called with the scope narrowed to `fields` (what the query reads)."""

    def call(settings: Settings, scope: Scope) -> R:
        return cached(settings, scope.narrowed(fields))

    call.__doc__ = cached.__doc__
    return call


def _short_on(func: Query[R], *fields: str) -> Query[R]:
    """Returns `func` cached for TTL_SECONDS, keyed on the settings and the scope's `fields`."""
    return _keyed(_cached(func), fields)


def _kept_on(func: Query[R], *fields: str) -> Query[R]:
    """Returns `func` cached for SLOW_TTL_SECONDS, keyed on the settings and the scope's
    `fields`; traced."""
    return _keyed(_traced(func.__name__, _kept(func)), fields)


DAYS = ("first", "last")


# Overview and freshness
active_users = _short_on(overview.active_users, *DAYS, "as_of", "segment")
revenue = _short_on(overview.revenue, *DAYS, "as_of", "segment", "currencies")
data_range = _short_on(lake_state.data_range, "as_of")
freshness = _short_on(lake_state.freshness, "tables")
newest_event_time = _short_on(lake_state.newest_event_time)
# Revenue, Products, Funnel
revenue_by_product = _cached(commerce.revenue_by_product)
product_performance = _cached(commerce.product_performance)
funnel = _cached(commerce.funnel)
products = _kept_on(commerce.products, "as_of")
# Retention, Customers, Lifecycle, Sessions
cohorts = _cached(people.cohorts)
customers = _cached(people.customers)
lifecycle = _cached(people.lifecycle)
sessions = _cached(people.sessions)
session_lengths = _cached(people.session_lengths)
# Filters and the audit trail
filter_options = _kept_on(segments.filter_options, "as_of")
restatements = _short_on(audit.restatements, "tables", *DAYS, "as_of")
reconciliation = _short_on(audit.reconciliation, "as_of")
reconciliation_runs = _short_on(audit.reconciliation_runs, "as_of")
# Pipeline health
ingest_minutes = _short_on(pipeline.ingest_minutes, "since", "as_of")
partition_offsets = _short_on(pipeline.partition_offsets, "since", "as_of")
dead_letters_by_code = _short_on(pipeline.dead_letters_by_code, "as_of")
recent_dead_letters = _short_on(pipeline.recent_dead_letters, "as_of")
table_states = _short_on(pipeline.table_states, "as_of")
event_to_gold = _short_on(event_to_gold_data.event_to_gold, "as_of")
existing_tables = _short_on(pipeline.existing_tables)
kafka_end_offsets = _short_on(kafka.end_offsets, "partitions")
# Event explorer (looked up on demand; a minute is enough for re-drawing the same answer)
event_by_id = _short_on(explorer.event_by_id, "event_id", *DAYS, "as_of")
aggregate_history = _short_on(explorer.aggregate_history, "aggregate_id", *DAYS, "as_of")
user_profile = _short_on(explorer.user_profile, "aggregate_id", "as_of")
recent_user = _short_on(explorer.recent_user, "as_of")
dead_letters_of = _short_on(explorer.dead_letters_of, "aggregate_id", "as_of")
# Live: the parts before today change only with late data
past_last_active = _kept_on(live.past_last_active, "last", "segment", "as_of")
past_order_ids = _kept_on(live.past_order_ids, "last", "as_of")


def _live_day(settings: Settings, scope: Scope) -> live.LiveDay:
    """Returns `live.live_day` of the scope's last day and segment, its slowly changing inputs
    cached a minute."""
    users = past_last_active(settings, scope)
    return live.live_day(
        settings, scope.last, scope.segment, users, past_order_ids(settings, scope)
    )


def _live_revenue(settings: Settings, scope: Scope) -> live.LiveDay:
    """Returns `live.live_day` of the scope's last day and segment with today's revenue only
    (the Revenue page's need: only the day's orders and signups are read)."""
    orders = past_order_ids(settings, scope)
    return live.live_day(settings, scope.last, scope.segment, None, orders)


# Today by minute and hour, and the last 60 minutes (read from the log at every refresh)
today_windows = _short_on(intraday.intraday, "last")
# Live figures are drawn only when no past moment is chosen: they read the latest versions.
live_day = _short_on(_live_day, "last", "segment")
live_revenue = _short_on(_live_revenue, "last", "segment")


def clear() -> None:
    """Empties every cache of the dashboard (tests; a lake replaced under a running app)."""
    st.cache_data.clear()
    reads.clear_memo()


def clear_short() -> None:
    """Empties the short-lived caches only: what a live refresh finds once their ttl passed."""
    for cached in SHORT_LIVED:
        cached.clear()
