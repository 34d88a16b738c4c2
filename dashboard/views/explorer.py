"""Event explorer page: one event by id, or the full history of one user or aggregate — every
copy the log received, where it came from, and what became of it (the audit trail)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

import polars as pl
import streamlit as st

from dashboard.data import cache
from dashboard.data.explorer import feeds
from dashboard.shapes import charts, figures
from dashboard.shell import frame, widgets
from eventlake.catalog import (
    BRONZE_DEAD_LETTERS,
    BRONZE_EVENTS,
    SILVER_EVENT_INDEX,
    SILVER_EVENTS,
    SILVER_USER_ACTIVITY_DAILY,
    SILVER_USERS,
)

MODE_KEY = "explorer_mode"
EVENT_KEY = "explorer_event_id"
AGGREGATE_KEY = "explorer_aggregate_id"
EVERY_DAY_KEY = "explorer_every_day"
EVENT_SCOPE_KEY = "explorer_event_scope"
BY_ID, BY_AGGREGATE = "An event by id", "A user or aggregate"
EVERY_DAY, SELECTED = "every day", "the selected days"
EVENT_SCOPES = (EVERY_DAY, SELECTED)
INFO = frame.PageInfo(
    title="🔍 Event explorer",
    key="explorer",
    tables=(BRONZE_EVENTS, SILVER_EVENT_INDEX, SILVER_EVENTS, BRONZE_DEAD_LETTERS),
    notes=f"""
- **An event by id** — every copy of the id in `{BRONZE_EVENTS.name}` (a re-delivered message
  is a second copy), with its Kafka topic, partition, offset and ingest time; the copy ingested
  first is the one `{SILVER_EVENTS.name}` keeps, with its payload upcast to the latest schema
  version. Searched in every day of the log (or the selected days, as you choose): the days
  holding the id come from `{SILVER_EVENT_INDEX.name}`, which reads one bucket of ids, plus the
  days of the log it has not indexed yet; only those days of `{BRONZE_EVENTS.name}` are read.
- **A user or aggregate** — every event whose `aggregate_id` is the id (producers key Kafka
  messages by it, usually the user id), oldest first, up to 5,000: in the selected days those
  `{SILVER_USER_ACTIVITY_DAILY.name}` has the user on, plus the days silver has not caught up
  with; or in every day of the log on request (also finding aggregates that are not users). Also the user's `{SILVER_USERS.name}` row and the dead letters
  whose Kafka key is the id (`{BRONZE_DEAD_LETTERS.name}`).
- **Status**: counted (in silver), duplicate (a later copy of an id), unregistered type (kept in
  the log, ignored by the read models), not in silver yet (waiting for materialization).
""",
    filters="An event id is searched in every day unless the selected days are asked for; the "
    "day range limits a history unless every day is asked for; currency, plan, signup source "
    "and country do not apply.",
    needs_days=False,
)


def search_days(ctx: frame.Context, where: str) -> tuple[date, date]:
    """Returns the days an event id is looked for in, for a choice of EVENT_SCOPES."""
    scope = ctx.scope
    if where == EVERY_DAY:
        return ctx.settings.start_date, ctx.today
    return scope.first, scope.last


def _event(ctx: frame.Context, event_id: str, where: str) -> None:
    first, last = search_days(ctx, where)
    wanted = replace(ctx.scope, event_id=event_id, first=first, last=last)
    copies, silver = cache.event_by_id(ctx.settings, wanted)
    if copies.is_empty():
        st.info(
            f"No event `{event_id}` in {BRONZE_EVENTS.name} from {first} to {last}: search "
            "more days above.",
            icon="🔎",
        )
        return
    head = copies.row(0, named=True)
    when = f"{head['event_time']:%Y-%m-%d %H:%M:%S} UTC"
    copies_word = "copy" if copies.height == 1 else "copies"
    st.markdown(
        f"**{head['event_type']}** of `{head['aggregate_id']}` at {when} — "
        f"{copies.height} {copies_word} in the log."
    )
    widgets.table(copies, "Copies", key="explorer_copies")
    if silver.height:
        st.markdown(f"**In {SILVER_EVENTS.name}** (schema version {silver['schema_version'][0]}):")
        st.json(json.loads(silver["payload"][0]))
    has_user = '"user_id"' in (head["payload"] or "")
    st.caption("Feeds: " + ", ".join(f"`{name}`" for name in feeds(head["event_type"], has_user)))


def _aggregate(ctx: frame.Context, aggregate_id: str, every_day: bool) -> None:
    scope = replace(ctx.scope, aggregate_id=aggregate_id)
    if every_day:
        scope = replace(scope, first=date.min, last=date.max)
    history = cache.aggregate_history(ctx.settings, scope)
    profile = cache.user_profile(ctx.settings, scope)
    if history.is_empty() and profile.is_empty():
        st.info(f"No event of `{aggregate_id}` found.", icon="🔎")
        return
    counts = history.group_by("status").agg(pl.len()).rows()
    by_status = dict(counts)
    cells = st.columns(4)
    shown = [
        ("Events", f"{history.height:,}", "Every copy in the log (up to 5,000, newest kept)."),
        ("Counted", f"{by_status.get('counted', 0):,}", "Kept by silver: the figures count them."),
        ("Duplicates", f"{by_status.get('duplicate (later copy)', 0):,}", "Later copies of an id."),
        ("First seen", figures.format_moment(history["event_time"].min(), "%Y-%m-%d"), "Oldest event time."),
    ]  # fmt: skip
    for cell, (label, value, help_text) in zip(cells, shown, strict=True):
        with cell:
            widgets.metric(label, value, None, help=help_text)
    if profile.height:
        widgets.table(profile, "User", key="explorer_user")
    if history.height:
        per_day = history.group_by(day=pl.col("event_time").dt.date(), event_type="event_type").agg(
            events=pl.len()
        )
        widgets.chart(charts.timeline(per_day))
    widgets.table(history, "History", key="explorer_history")
    dead = cache.dead_letters_of(ctx.settings, scope)
    if dead.height:
        widgets.table(dead, "Dead letters keyed by it", key="explorer_dead_letters")


def _pick_recent(ctx: frame.Context) -> None:
    user = cache.recent_user(ctx.settings, ctx.scope)
    if user is not None:
        st.session_state[AGGREGATE_KEY] = user


def body(ctx: frame.Context) -> None:
    """Draws the look-up form and its answer."""
    mode = st.radio("Look up", (BY_AGGREGATE, BY_ID), key=MODE_KEY, horizontal=True)
    if mode == BY_ID:
        where = st.radio(
            "Search", EVENT_SCOPES, key=EVENT_SCOPE_KEY, horizontal=True,
            help="The days holding the id come from the event-id index, plus the days of the "
            "log it has not indexed yet: every day is searched in well under a second.",
        )  # fmt: skip
        event_id = st.text_input("Event id", key=EVENT_KEY, placeholder="e.g. 0f3c…")
        if event_id.strip():
            _event(ctx, event_id.strip(), where)
        return
    every_day = st.toggle("Search every day", key=EVERY_DAY_KEY, help="Slower on a large log.")
    left, right = st.columns([4, 1], vertical_alignment="bottom")
    with left:
        aggregate_id = st.text_input("User or aggregate id", key=AGGREGATE_KEY)
    with right:
        st.button("🎲 A recent user", on_click=_pick_recent, args=(ctx,), key="explorer_recent")
    if aggregate_id.strip():
        _aggregate(ctx, aggregate_id.strip(), every_day)
    else:
        st.caption("Type an id, or pick the user with the newest event.")


frame.show(INFO, body)
