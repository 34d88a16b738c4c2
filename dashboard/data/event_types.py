"""Events per day and type, read from silver/events. No Streamlit.

The counts the read models are built from, sliced by event type: for clients of the API (and
anyone checking what a gold figure rests on). Each event is counted once (silver holds one row
per event id, registered types only, on the day of its event time).
"""

from __future__ import annotations

import polars as pl

from dashboard.data import reads
from dashboard.data.scope import Scope
from dashboard.data.segments import restrict, users_of
from eventlake.catalog import SILVER_EVENTS
from eventlake.settings import Settings

SCHEMA = pl.Schema(
    {"day": pl.Date(), "event_type": pl.String(), "events": pl.Int64(), "users": pl.Int64()}
)


def events_by_type(settings: Settings, scope: Scope) -> pl.DataFrame:
    """Returns one row per day of the scope's days and event type with events: `events` (count)
    and `users` (distinct users among them), sorted by day and type.

    Limited to the scope's event types (empty: all) and, for a segment, to its users' events.
    """
    frame = reads.scan_days(settings, SILVER_EVENTS, scope.first, scope.last, scope.as_of)
    frame = frame.select("event_date", "event_type", "user_id")
    if scope.event_types:
        frame = frame.filter(pl.col("event_type").is_in(list(scope.event_types)))
    frame = restrict(frame, users_of(settings, scope.segment, scope.as_of))
    counts = (
        frame.group_by(day=pl.col("event_date"), event_type=pl.col("event_type"))
        .agg(events=pl.len(), users=pl.col("user_id").n_unique())
        .sort("day", "event_type")
        .cast(SCHEMA)
    )
    return reads.collect(SILVER_EVENTS, counts)
