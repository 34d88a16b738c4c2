"""The frame every page is drawn in: title, as-of banner, freshness, filters, the live fragment,
the restated figures and the lineage note.

A page describes itself with a `PageInfo` and hands `show` a body that draws its figures for a
`Scope`. The body runs in a fragment that re-reads the lake every few seconds while live refresh
is on and no past moment is chosen.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import polars as pl
import streamlit as st

from dashboard.data import cache
from dashboard.data.lake_state import Freshness
from dashboard.data.scope import Scope
from dashboard.shell import asof, filters, session, trust, widgets
from eventlake.catalog import BRONZE_EVENTS, TableSpec
from eventlake.errors import LakeError
from eventlake.settings import Settings


@dataclass(frozen=True)
class PageInfo:
    """What a page is: its title, the tables it reads, how its figures are computed.

    Attributes:
        title: the page title, emoji first.
        key: a short name, prefix of the page's widget keys.
        tables: the tables the page reads (freshness, as-of versions, restatements, lineage).
        notes: markdown: how each figure is computed and which events it reads.
        filters: markdown: which sidebar filters apply to which figures.
        needs_days: the page shows day figures: without days with data it shows the
            "no data yet" notice instead.
    """

    title: str
    key: str
    tables: tuple[TableSpec, ...]
    notes: str
    filters: str
    needs_days: bool = True


@dataclass(frozen=True)
class Context:
    """What a page body gets: settings, scope, the moment of the run, restatements shown."""

    settings: Settings
    scope: Scope
    now: datetime
    restated: pl.DataFrame  # audit/restatements rows of the page's tables and days

    @property
    def live(self) -> bool:
        """True when today's figures may come from the log (no past moment chosen)."""
        return self.scope.as_of is None

    @property
    def today(self) -> date:
        """Returns today's date (UTC)."""
        return self.now.date()


Body = Callable[[Context], None]


def _freshness(settings: Settings, tables: Sequence[TableSpec], now: datetime) -> Freshness | None:
    try:
        shown = tuple(dict.fromkeys(s.name for s in (BRONZE_EVENTS, *tables)))  # the log first
        fresh = cache.freshness(settings, Scope(tables=shown))
    except LakeError as err:
        widgets.lake_error(err)
        return None
    widgets.freshness_line(fresh, now)
    return fresh


def _filters_caption(scope: Scope, info: PageInfo) -> None:
    chosen = scope.describe_filters()
    if chosen:
        st.caption(f"🔎 Filters: {chosen}. {info.filters}")


def _run(info: PageInfo, settings: Settings, body: Body) -> None:
    """One run of the page's live part: read the sidebar's choices, then draw the body."""
    now = datetime.now(UTC)
    as_of = asof.moment()
    try:
        if as_of is None and session.sidebar_outdated(settings):
            st.rerun()  # new days landed: redraw the sidebar's range too
    except LakeError as err:
        widgets.lake_error(err)
        return
    fresh = _freshness(settings, info.tables, now) if as_of is None else None
    days = session.selected_days()
    if days is None and info.needs_days:
        if as_of is None:
            widgets.no_data(fresh)
        else:
            st.info(
                f"**No data as of {as_of:%Y-%m-%d %H:%M} UTC**: the read models held no day "
                "then. Pick a later moment in the sidebar.",
                icon="🕰️",
            )
        return
    today = now.date()
    first, last = days if days is not None else (today, today)
    scope = Scope(first, last, as_of, filters.currencies(), filters.segment())
    _filters_caption(scope, info)
    found = trust.page_restatements(settings, info.tables, scope)
    try:
        body(Context(settings, scope, now, found))
    except LakeError as err:
        widgets.lake_error(err)
        return
    trust.restatements_expander(found, key=f"{info.key}_csv_restated")


def show(info: PageInfo, body: Body) -> None:
    """Draws the page: title, as-of banner, the (live) body, the lineage note."""
    settings = session.settings()
    st.title(info.title)
    chosen = asof.current()
    if chosen is not None:
        trust.asof_banner(settings, chosen, info.tables)
    refresh = None if chosen is not None else session.refresh_every()
    st.fragment(_run, run_every=refresh)(info, settings, body)
    trust.lineage(info.notes, info.tables, info.filters)
