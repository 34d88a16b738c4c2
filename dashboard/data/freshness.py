"""What the Pipeline health page shows of the event-to-gold latency: per gold day table, p50,
p99 and max from produce to the first gold commit that counted an event, and the events not
counted yet, over the events produced in the last 60 minutes (operations/freshness.py,
docs/operations.md "Event to gold latency"). No Streamlit.
"""

from __future__ import annotations

import polars as pl

from dashboard.data.scope import Scope
from eventlake.settings import Settings
from operations import freshness

SCHEMA = pl.Schema(
    {
        "table": pl.String(),
        "events": pl.Int64(),
        "counted": pl.Int64(),
        "p50_s": pl.Float64(),
        "p99_s": pl.Float64(),
        "max_s": pl.Float64(),
        "pending": pl.Int64(),
        "oldest_pending_s": pl.Float64(),
    }
)


def event_to_gold(settings: Settings, scope: Scope) -> pl.DataFrame:
    """Returns one row per gold day table: the window's events, how many it counted, their
    p50/p99/max latency in seconds, and the pending events (how many, the oldest one's age), as
    of the scope's moment (None: now). As of a moment long past, more than 2,000 commits of a
    table ago (`operations.freshness.HISTORY_LIMIT`), its events show as pending: the history read stops there."""
    measured = freshness.measure(settings, now=scope.as_of)
    rows = [
        (t.table, measured.events, t.counted, t.p50_s, t.p99_s, t.max_s, t.pending,
         t.oldest_pending_s)
        for t in measured.tables
    ]  # fmt: skip
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")
