"""Sessions (silver/sessions) and their daily figures (gold/sessions_daily).

A session is a user's run of events: all their events sharing one `metadata.session_id`, or,
for their events without a session id, a run in which no two consecutive events are more than
30 minutes apart. A session lasts at most 24 h: a run whose events span 24 h or more is cut
greedily — the first session takes the run's events less than 24 h after its first event, the
next starts at the first event after those, and so on. A session belongs to the UTC day of its
first event (so it may cross midnight); its duration is last minus first event time (0 for a
single event). Events without a user id (none of the registered types) are ignored.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import dagster as dg
import polars as pl

from assets.day_range import (
    day_asset_spec_kwargs,
    day_result,
    day_table_asset,
    lake_settings,
    run_days,
    window,
)
from assets.silver import day_chunks
from assets.timings import Phases
from eventlake import lake
from eventlake.catalog import GOLD_SESSIONS_DAILY, SILVER_EVENTS, SILVER_SESSIONS
from eventlake.settings import Settings

INACTIVITY = timedelta(minutes=30)
MAX_SESSION = timedelta(hours=24)
_INPUT = ("user_id", "session_id", "event_time")
CHUNK_DAYS = 30  # days of sessions built at a time in a long range run


def _runs(events: pl.LazyFrame) -> tuple[pl.LazyFrame, pl.LazyFrame, pl.LazyFrame]:
    """Returns (events with run keys, user codes, session-id codes).

    A run key is (u, sn, run): the user's dense code `u`, and either the session id's code
    `sn` or, for events without a session id, a run number `run` that changes after a gap of
    more than 30 minutes between the user's consecutive such events. Strings are swapped for
    dense integers first: sorting 10M (integer, time) pairs is several times faster.
    """
    events = events.filter(pl.col("user_id").is_not_null())
    # Collected once: codes must be the same wherever they are joined back.
    users = events.select("user_id").unique().with_row_index("u").collect().lazy()
    ids = events.select("session_id").drop_nulls().unique().with_row_index("sn").collect().lazy()
    coded = (
        events.join(users, on="user_id")
        .join(ids, on="session_id", how="left")
        .select("u", "sn", "event_time")
    )
    with_id = coded.filter(pl.col("sn").is_not_null()).with_columns(run=pl.lit(None, pl.Int64))
    gap = pl.col("event_time") - pl.col("event_time").shift(1)
    starts = (pl.col("u") != pl.col("u").shift(1)).fill_null(True) | (gap > INACTIVITY)
    chained = (
        coded.filter(pl.col("sn").is_null())
        .sort("u", "event_time")
        .with_columns(run=starts.cast(pl.Int64).cum_sum())
    )
    return pl.concat([with_id, chained]), users, ids


def _cut(runs: pl.DataFrame) -> pl.DataFrame:
    """Returns the events of runs of 24 h or more with `start`: their session's first event time.

    Greedy: the run's first event starts a session that takes the events less than 24 h after
    it; the next event starts the next session. One pass per cut.
    """
    keys = ["u", "sn", "run"]
    parts = []
    todo = runs
    while todo.height:
        head = todo.with_columns(start=pl.col("event_time").min().over(keys))
        inside = pl.col("event_time") < pl.col("start") + MAX_SESSION
        parts.append(head.filter(inside))
        todo = head.filter(~inside).drop("start")
    return pl.concat(parts) if parts else runs.with_columns(start=pl.col("event_time"))


def sessions(events: pl.LazyFrame) -> pl.LazyFrame:
    """One row per session of `events` (columns user_id, session_id, event_time).

    Returns:
        SILVER_SESSIONS columns sorted by (day, user_id, started_at, session_id). Give it every
        event of the sessions wanted (see `session_events`): a session is only as complete as
        its input.
    """
    keys = ["u", "sn", "run"]
    runs, users, ids = _runs(events.select(_INPUT))
    runs_df = runs.collect()
    spans = runs_df.group_by(keys).agg(
        start=pl.col("event_time").min(),
        ended_at=pl.col("event_time").max(),
        events=pl.len(),
    )
    is_long = pl.col("ended_at") - pl.col("start") >= MAX_SESSION
    long_runs = runs_df.join(spans.filter(is_long).select(keys), on=keys, nulls_equal=True)
    pieces = (
        _cut(long_runs)
        .group_by(*keys, "start")
        .agg(ended_at=pl.col("event_time").max(), events=pl.len())
    )
    found = pl.concat([spans.filter(~is_long), pieces.select(spans.columns)])
    return (
        found.lazy()
        .join(users, on="u")
        .join(ids, on="sn", how="left")
        .select(
            day=pl.col("start").dt.date(),
            user_id="user_id",
            session_id="session_id",
            started_at="start",
            ended_at="ended_at",
            events="events",
            duration_s=(pl.col("ended_at") - pl.col("start")).dt.total_microseconds() / 1e6,
        )
        .sort("day", "user_id", "started_at", "session_id", nulls_last=True)
        .cast(SILVER_SESSIONS.schema)
    )


def unanchored(events: pl.LazyFrame, since: datetime, first: date) -> pl.LazyFrame:
    """One row (`user_id`) per user whose run reaching day `first` may begin before `since`.

    A run of events read from `since` on is known from its start when its first event is more
    than 30 minutes (no session id) or at least 24 h (session id: a 24 h gap always starts
    a new session) after `since`. Otherwise the events just before `since` are needed.
    """
    coded, users, _ = _runs(events.select(_INPUT))
    runs = coded.group_by("u", "sn", "run").agg(
        begin=pl.col("event_time").min(), end=pl.col("event_time").max()
    )
    reach = pl.when(pl.col("sn").is_null()).then(pl.lit(INACTIVITY)).otherwise(pl.lit(MAX_SESSION))
    return (
        runs.filter(
            pl.col("begin") < pl.lit(since) + reach,
            pl.col("end") >= pl.lit(datetime.combine(first, time(), since.tzinfo)),
        )
        .select("u")
        .unique()
        .join(users, on="u")
        .select("user_id")
    )


def session_events(settings: Settings, first: date, last: date) -> pl.DataFrame:
    """Returns the silver events every session starting in [first, last] is made of.

    Reads days first-1 .. last+1 (a session lasts at most 24 h), then, for users whose runs
    reaching `first` could start earlier, one more day back at a time until none could.
    """
    columns = [*_INPUT, "event_date"]
    lo = first - timedelta(days=1)
    events = lake.scan_days(settings, SILVER_EVENTS, lo, last + timedelta(days=1))
    frame = events.select(columns).collect()
    while True:
        since = datetime.combine(lo, time(), UTC)
        # Only runs with an event on day `lo` can begin within 24 h of `since`, and only their
        # events up to day `first` tell whether they reach it.
        near = frame.lazy().filter(pl.col("event_date") <= first)
        near = near.join(near.filter(pl.col("event_date") == lo).select("user_id").unique(),
                         on="user_id")  # fmt: skip
        users = unanchored(near, since, first).collect().get_column("user_id")
        if users.is_empty():
            return frame
        # A day without events of these users settles them: their runs' first events are
        # then 24 h or more after the new `since`. So this ends at the latest before the log.
        lo -= timedelta(days=1)
        earlier = lake.scan_days(settings, SILVER_EVENTS, lo, lo).select(columns)
        more = earlier.filter(pl.col("user_id").is_in(users.implode())).collect()
        frame = pl.concat([more, frame])


def sessions_daily(sessions: pl.LazyFrame, first: date, last: date) -> pl.LazyFrame:
    """One row per day in [first, last]: sessions started that day and their durations.

    avg, p50 and p90 of duration_s (quantiles interpolated linearly between ranks); null on a
    day without sessions.
    """
    calendar = pl.LazyFrame({"day": pl.date_range(first, last, eager=True)})
    figures = (
        sessions.filter(pl.col("day").is_between(first, last))
        .group_by("day")
        .agg(
            sessions=pl.len(),
            avg_duration_s=pl.col("duration_s").mean(),
            p50_duration_s=pl.col("duration_s").quantile(0.5, interpolation="linear"),
            p90_duration_s=pl.col("duration_s").quantile(0.9, interpolation="linear"),
        )
    )
    return (
        calendar.join(figures, on="day", how="left")
        .with_columns(pl.col("sessions").fill_null(0))
        .sort("day")
        .cast(GOLD_SESSIONS_DAILY.schema)
    )


def sessions_asset(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """Returns the asset building silver/sessions: a day's sessions read the day before and after."""

    @dg.asset(
        partitions_def=partitions_def,
        deps=[dg.AssetDep(SILVER_EVENTS.asset_key, partition_mapping=window(-1, 1))],
        **day_asset_spec_kwargs(SILVER_SESSIONS),
    )
    def silver_sessions(context) -> dg.MaterializeResult:  # Dagster rejects "context" annotated
        settings = lake_settings(context)
        phases = Phases()
        first, last = run_days(context)
        parts = []
        # Chunks of days bound the memory of a long range; each reads its own neighbours.
        # Sessions are small: the range is written once, in one commit.
        for a, b in day_chunks(first, last, CHUNK_DAYS):
            events = session_events(settings, a, b)
            phases.lap("silver_read")
            found = sessions(events.lazy())
            parts.append(found.filter(pl.col("day").is_between(a, b)).collect())
            phases.lap("compute")
        frame = pl.concat(parts)
        lake.replace_days(settings, SILVER_SESSIONS, frame, first, last)
        phases.lap("write")
        return day_result(settings, SILVER_SESSIONS, frame.height, first, last, (), phases)

    return silver_sessions


def sessions_daily_asset(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """Returns the asset building gold/sessions_daily from silver/sessions, day by day."""

    def build(settings: Settings, first: date, last: date) -> pl.LazyFrame:
        return sessions_daily(lake.scan_days(settings, SILVER_SESSIONS, first, last), first, last)

    deps = [SILVER_SESSIONS.asset_key]
    return day_table_asset(GOLD_SESSIONS_DAILY, partitions_def, deps, build)
