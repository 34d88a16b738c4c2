"""The read-only query API: every gold table and today's live figures (docs/api.md).

Each figure is answered by the query function the dashboard page calls (`dashboard.data`), with
the same `Scope`, so a number is the same in the API, in Grafana and on the dashboard. Filters
a figure does not take are refused with a 400, never silently ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Annotated, TypeVar

import polars as pl
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response

from api.guards import require_token
from api.live import LiveFigures
from api.responses import Format, framed
from dashboard.data import commerce, event_types, hourly, lake_state, overview, people
from dashboard.data.scope import Scope, Segment
from eventlake.errors import EventlakeError
from eventlake.registry import REGISTRY
from eventlake.settings import Settings

DAYS, CURRENCY, EVENT_TYPE, SEGMENT = "days", "currency", "event_type", "segment"
T = TypeVar("T")


@dataclass(frozen=True)
class Figure:
    """A gold table's figures as a page shows them: the query and the filters it takes (all
    take `as_of`)."""

    query: Callable[[Settings, Scope], pl.DataFrame]
    filters: frozenset[str]
    description: str


def _figure(query: Callable[[Settings, Scope], pl.DataFrame], description: str,
            *filters: str) -> Figure:  # fmt: skip
    return Figure(query, frozenset(filters), description)


FIGURES: dict[str, Figure] = {
    "daily_active_users": _figure(
        overview.active_users, "DAU, WAU, MAU and stickiness per day", DAYS, SEGMENT
    ),
    "revenue_daily": _figure(
        overview.revenue, "orders, revenue, AOV per day and currency", DAYS, CURRENCY, SEGMENT
    ),
    "revenue_by_product": _figure(
        commerce.revenue_by_product, "units and revenue per product", DAYS, CURRENCY, SEGMENT
    ),
    "product_performance": _figure(
        commerce.product_performance, "views, carts, units, EUR revenue", DAYS, SEGMENT
    ),
    "funnel_daily": _figure(commerce.funnel, "view, cart, order per day", DAYS, SEGMENT),
    "sessions_daily": _figure(people.sessions, "sessions and durations", DAYS, SEGMENT),
    "lifecycle_daily": _figure(people.lifecycle, "new, returning, dormant", DAYS, SEGMENT),
    "cohort_retention": _figure(people.cohorts, "weekly signup cohorts", DAYS, SEGMENT),
    "customer_rfm": _figure(people.customers, "recency, frequency, monetary", SEGMENT),
    "events_daily": _figure(
        event_types.events_by_type, "events and users per type", DAYS, EVENT_TYPE, SEGMENT
    ),
    "traffic_hourly": _figure(hourly.traffic, "events and active users per UTC hour", DAYS),
    "revenue_hourly": _figure(
        hourly.revenue, "orders and revenue per UTC hour and currency", DAYS, CURRENCY
    ),
}
LIVE_PARTS = ("users", "revenue", "funnel")


def figures_router(settings: Settings) -> APIRouter:
    """Returns the router of the query API (bearer token required when configured)."""

    def authorized(request: Request) -> None:
        require_token(settings, request)

    router = APIRouter(tags=["figures"], dependencies=[Depends(authorized)])
    live_figures = LiveFigures(settings)

    @router.get("/v1/figures", summary="The figures this API serves and the filters each takes")
    def catalog() -> dict[str, dict[str, object]]:
        return {
            name: {"description": f.description, "filters": sorted(f.filters)}
            for name, f in FIGURES.items()
        }

    @router.get("/v1/figures/{name}", summary="A gold table's figures, sliced")
    def figure(
        name: str, scope: Annotated[Scope, Depends(scope_of)], fmt: FormatParam = Format.json
    ) -> Response:
        found = FIGURES.get(name)
        if found is None:
            raise HTTPException(404, f"no figure {name!r}; see /v1/figures")
        check_filters(name, found.filters, scope)
        return framed(answer(lambda: found.query(settings, with_days(settings, scope))), fmt)

    @router.get("/v1/live/{part}", summary="Today's figures, live from the event log")
    def live(
        part: str, scope: Annotated[Scope, Depends(scope_of)], fmt: FormatParam = Format.json
    ) -> Response:
        if part not in LIVE_PARTS:
            raise HTTPException(404, f"no live part {part!r}; one of {', '.join(LIVE_PARTS)}")
        if scope.as_of is not None or not scope.every_day or scope.currencies:
            raise HTTPException(400, "live figures are today's, now: only segment filters apply")
        today = datetime.now(UTC).date()
        day = answer(lambda: live_figures.day(today, scope.segment))
        headers = {"X-Eventlake-Computed-At": day.computed_at.isoformat()}
        return framed(getattr(day, part), fmt, headers=headers)

    return router


FormatParam = Annotated[Format, Query(alias="format", description="json, csv or arrow")]


def scope_of(
    first: Annotated[date | None, Query(alias="from", description="first day (UTC)")] = None,
    last: Annotated[date | None, Query(alias="to", description="last day, inclusive")] = None,
    currency: Annotated[list[str] | None, Query(description="repeat for several")] = None,
    plan: Annotated[list[str] | None, Query()] = None,
    signup_source: Annotated[list[str] | None, Query()] = None,
    country: Annotated[list[str] | None, Query()] = None,
    event_type: Annotated[list[str] | None, Query(description="events_daily only")] = None,
    as_of: Annotated[datetime | None, Query(description="read the lake as of this moment")] = None,
) -> Scope:
    """Returns the scope of the query parameters (no days: every day)."""
    if first is not None and last is not None and first > last:
        raise HTTPException(400, f"from {first} is after to {last}")
    if as_of is not None and as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=UTC)
    unknown = sorted(set(event_type or ()) - set(REGISTRY))
    if unknown:
        raise HTTPException(400, f"unknown event type {unknown[0]!r}; one of {', '.join(REGISTRY)}")
    segment = Segment(tuple(plan or ()), tuple(signup_source or ()), tuple(country or ()))
    return Scope(
        first=first or date.min,
        last=last or date.max,
        as_of=as_of,
        currencies=tuple(currency or ()),
        segment=segment,
        event_types=tuple(event_type or ()),
    )


def with_days(settings: Settings, scope: Scope) -> Scope:
    """Returns the scope with its open ends set to the first and last day the lake holds (as
    of the scope's moment): no from/to means every day."""
    if scope.first != date.min and scope.last != date.max:
        return scope
    held = lake_state.data_range(settings, Scope(as_of=scope.as_of))
    today = datetime.now(UTC).date()
    first, last = held or (today, today)
    return replace(
        scope,
        first=first if scope.first == date.min else scope.first,
        last=last if scope.last == date.max else scope.last,
    )


def check_filters(name: str, allowed: frozenset[str], scope: Scope) -> None:
    """Raises a 400 when the scope sets a filter the figure does not take."""
    if DAYS not in allowed and not scope.every_day:
        raise HTTPException(400, f"{name} is not per day: from and to do not apply")
    if CURRENCY not in allowed and scope.currencies:
        raise HTTPException(400, f"{name} is not per currency: currency does not apply")
    if EVENT_TYPE not in allowed and scope.event_types:
        raise HTTPException(400, f"{name} is not per event type: event_type does not apply")
    if SEGMENT not in allowed and not scope.segment.is_everyone:
        raise HTTPException(
            400, f"{name} is for everyone: plan, signup_source, country do not apply"
        )


def answer(query: Callable[[], T]) -> T:
    """Returns `query()`; a lake that cannot answer (no such table yet, a moment before the
    table existed) is a 404 with the reason, not a 500."""
    try:
        return query()
    except EventlakeError as err:
        raise HTTPException(404, str(err).splitlines()[0]) from None
