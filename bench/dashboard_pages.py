"""The queries each dashboard page runs, as the page calls them (through `dashboard.data.cache`).

One function per page: it makes every cached call the page's run makes, with the sidebar's
calls first (the entry script runs them before every page). Keep in step with dashboard/views/.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from dashboard.data import cache
from dashboard.data.pipeline import recent_window
from dashboard.data.scope import Scope
from dashboard.shell import session
from eventlake.catalog import (
    BRONZE_DEAD_LETTERS,
    BRONZE_EVENTS,
    BRONZE_INGEST_BATCHES,
    GOLD_COHORT_RETENTION,
    GOLD_CUSTOMER_RFM,
    GOLD_DAILY_ACTIVE_USERS,
    GOLD_FUNNEL_DAILY,
    GOLD_LIFECYCLE_DAILY,
    GOLD_PRODUCT_PERFORMANCE,
    GOLD_REVENUE_BY_PRODUCT,
    GOLD_REVENUE_DAILY,
    GOLD_SESSIONS_DAILY,
    SILVER_EVENT_INDEX,
    SILVER_EVENTS,
    SILVER_SESSIONS,
    TableSpec,
)
from eventlake.settings import Settings


@dataclass(frozen=True)
class Probe:
    """What the explorer looks up: a user with events, and an event id of the log."""

    user: str
    event_id: str  # from the middle of the log's days


@dataclass(frozen=True)
class Run:
    """One page run: the lake, the scope, the day computed live, the explorer's probe."""

    settings: Settings
    scope: Scope
    live_day: date
    probe: Probe
    now: datetime


def _frame(run: Run, tables: tuple[TableSpec, ...]) -> None:
    """The sidebar's reads, then the page frame's: freshness and restatements."""
    s, scope = run.settings, run.scope
    session.data_bounds(s, scope.as_of)
    cache.filter_options(s, Scope(as_of=scope.as_of))
    cache.freshness(s, Scope(tables=tuple(dict.fromkeys(t.name for t in (BRONZE_EVENTS, *tables)))))
    cache.restatements(s, replace(scope, tables=tuple(t.name for t in tables)))


def overview(run: Run) -> None:
    """Overview: gold activity, revenue and funnel of the range, today live."""
    _frame(run, (GOLD_DAILY_ACTIVE_USERS, GOLD_REVENUE_DAILY, GOLD_FUNNEL_DAILY))
    s, scope = run.settings, run.scope
    start = scope.first - timedelta(days=1)
    cache.active_users(s, replace(scope, first=start))
    cache.revenue(s, replace(scope, first=start))
    cache.funnel(s, replace(scope, first=start))
    cache.live_day(s, replace(scope, first=run.live_day, last=run.live_day))  # live from the log


def revenue(run: Run) -> None:
    """Revenue: the range and the period before, today live, by product."""
    _frame(run, (GOLD_REVENUE_DAILY, GOLD_REVENUE_BY_PRODUCT))
    s, scope = run.settings, run.scope
    cache.revenue(s, replace(scope, first=scope.previous().first))
    cache.live_revenue(s, replace(scope, first=run.live_day, last=run.live_day))
    cache.revenue_by_product(s, scope)
    cache.products(s, scope)


def funnel(run: Run) -> None:
    """Funnel: the range and the period before."""
    _frame(run, (GOLD_FUNNEL_DAILY,))
    cache.funnel(run.settings, replace(run.scope, first=run.scope.previous().first))


def retention(run: Run) -> None:
    """Retention: the cohorts meeting the range."""
    _frame(run, (GOLD_COHORT_RETENTION,))
    cache.cohorts(run.settings, run.scope)


def sessions(run: Run) -> None:
    """Sessions: the range and the period before, session lengths."""
    _frame(run, (GOLD_SESSIONS_DAILY, SILVER_SESSIONS))
    cache.sessions(run.settings, replace(run.scope, first=run.scope.previous().first))
    cache.session_lengths(run.settings, run.scope)


def customers(run: Run) -> None:
    """Customers: the RFM table."""
    _frame(run, (GOLD_CUSTOMER_RFM,))
    cache.customers(run.settings, run.scope)


def products(run: Run) -> None:
    """Products: the range and the period before, the product dimension."""
    _frame(run, (GOLD_PRODUCT_PERFORMANCE,))
    cache.product_performance(run.settings, replace(run.scope, first=run.scope.previous().first))
    cache.products(run.settings, run.scope)


def lifecycle(run: Run) -> None:
    """Lifecycle: the range and the day before it."""
    _frame(run, (GOLD_LIFECYCLE_DAILY,))
    cache.lifecycle(run.settings, run.scope.widened(before=1))


def pipeline(run: Run) -> None:
    """Pipeline health: ingest, offsets, dead letters, table states, reconciliation."""
    _frame(run, (BRONZE_INGEST_BATCHES, BRONZE_DEAD_LETTERS, BRONZE_EVENTS))
    s, scope = run.settings, run.scope
    window = replace(scope, since=recent_window(run.now))
    cache.ingest_minutes(s, window)
    cache.partition_offsets(s, window)
    cache.dead_letters_by_code(s, scope)
    cache.recent_dead_letters(s, scope)
    cache.table_states(s, scope)
    cache.reconciliation(s, scope)
    cache.reconciliation_runs(s, scope)


def explorer_user(run: Run) -> None:
    """Event explorer: a user's history in the range."""
    _frame(run, (BRONZE_EVENTS, SILVER_EVENT_INDEX, SILVER_EVENTS, BRONZE_DEAD_LETTERS))
    s, user = run.settings, replace(run.scope, aggregate_id=run.probe.user)
    cache.recent_user(s, run.scope)
    cache.aggregate_history(s, user)
    cache.user_profile(s, user)
    cache.dead_letters_of(s, user)


def explorer_event(run: Run) -> None:
    """Event explorer: an event id searched in every day of the log (the default)."""
    _frame(run, (BRONZE_EVENTS, SILVER_EVENT_INDEX, SILVER_EVENTS, BRONZE_DEAD_LETTERS))
    scope = replace(
        run.scope, event_id=run.probe.event_id, first=run.settings.start_date, last=run.now.date()
    )
    cache.event_by_id(run.settings, scope)


PAGES: dict[str, Callable[[Run], None]] = {
    "Overview (today live)": overview,
    "Revenue": revenue,
    "Funnel": funnel,
    "Retention": retention,
    "Sessions": sessions,
    "Customers": customers,
    "Products": products,
    "Lifecycle": lifecycle,
    "Pipeline health": pipeline,
    "Event explorer: a user's history": explorer_user,
    "Event explorer: an event id (every day)": explorer_event,
}


def utc_now() -> datetime:
    """Returns the current moment (UTC)."""
    return datetime.now(UTC)
