"""sessions and sessions_daily: session ids across midnight, 30-minute splits, the 24 h cap."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
from polars.testing import assert_frame_equal

from assets.sessions import session_events, sessions, sessions_daily
from eventlake import lake
from eventlake.catalog import GOLD_SESSIONS_DAILY, SILVER_EVENTS, SILVER_SESSIONS
from eventlake.settings import Settings

D1, D2, D3 = date(2024, 3, 1), date(2024, 3, 2), date(2024, 3, 3)


def at(day: date, h: int, m: int = 0, s: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, h, m, s, tzinfo=UTC)


ROWS = [
    ("u1", "a", at(D2, 0, 30)),  # out of order on purpose
    ("u1", "a", at(D1, 23, 50)),  # session "a" crosses midnight: it belongs to D1
    ("u1", "a", at(D2, 0, 10)),
    ("u1", None, at(D2, 8)),
    ("u1", None, at(D2, 8, 30)),  # exactly 30 minutes later: same session
    ("u1", None, at(D2, 9, 1)),  # 31 minutes later: a new one
    ("u2", "b", at(D1, 10)),
    ("u2", "b", at(D1, 20)),
    ("u2", "b", at(D2, 9, 59, 59)),  # < 24 h after the start: still the first session
    ("u2", "b", at(D2, 10)),  # 24 h after the start: starts the next session
    ("u2", "b", at(D2, 11)),
    ("u3", "a", at(D2, 12)),  # another user's "a" is another session
    (None, "a", at(D2, 13)),  # no user: ignored
]
EVENTS = pl.LazyFrame(
    ROWS, schema={"user_id": pl.String, "session_id": pl.String, "event_time": pl.Datetime("us", "UTC")},
    orient="row",
)  # fmt: skip


def test_sessions_by_hand() -> None:
    want = pl.DataFrame(
        [
            (D1, "u1", "a", at(D1, 23, 50), at(D2, 0, 30), 3, 2400.0),
            (D1, "u2", "b", at(D1, 10), at(D2, 9, 59, 59), 3, 86399.0),
            (D2, "u1", None, at(D2, 8), at(D2, 8, 30), 2, 1800.0),
            (D2, "u1", None, at(D2, 9, 1), at(D2, 9, 1), 1, 0.0),
            (D2, "u2", "b", at(D2, 10), at(D2, 11), 2, 3600.0),
            (D2, "u3", "a", at(D2, 12), at(D2, 12), 1, 0.0),
        ],
        schema=SILVER_SESSIONS.schema,
        orient="row",
    )
    assert_frame_equal(sessions(EVENTS).collect(), want)


def test_sessions_daily_with_an_empty_day() -> None:
    got = sessions_daily(sessions(EVENTS), D1, D3).collect()
    want = pl.DataFrame(
        [
            (D1, 2, (2400 + 86399) / 2, 44399.5, 2400 + 0.9 * (86399 - 2400)),
            (D2, 4, 1350.0, 900.0, 3060.0),
            (D3, 0, None, None, None),
        ],
        schema=GOLD_SESSIONS_DAILY.schema,
        orient="row",
    )
    assert_frame_equal(got, want)


def silver_rows(rows: list[tuple[str, str | None, datetime]]) -> pl.DataFrame:
    frame = pl.DataFrame(rows, schema=["user_id", "session_id", "event_time"], orient="row")
    return frame.with_columns(
        event_id=pl.int_range(pl.len()).cast(pl.String),
        event_type=pl.lit("login"),
        event_date=pl.col("event_time").dt.date(),
        payload=pl.lit("{}"),
    ).select(pl.col(c) if c in frame.columns or c in ("event_id", "event_type", "event_date",
             "payload") else pl.lit(None).alias(c) for c in SILVER_EVENTS.schema.names()
    ).cast(SILVER_EVENTS.schema)  # fmt: skip


def test_a_run_of_days_is_read_back_to_its_start(settings: Settings) -> None:
    # One session id used every 6 hours for 3 days: cut every 24 h from its first event.
    start = at(D1, 3)
    run = [("u1", "s", start + timedelta(hours=6 * k)) for k in range(13)]
    other = [("u2", None, at(D3, 12)), ("u3", "t", at(D2, 23, 55)), ("u3", "t", at(D3, 0, 5))]
    frame = silver_rows(run + other)
    lake.replace_days(settings, SILVER_EVENTS, frame, D1, D3 + timedelta(days=1))

    read = session_events(settings, D3, D3)
    assert read.get_column("event_date").min() == D1  # reached back to the run's first day
    got = sessions(read.lazy()).filter(pl.col("day") == D3).collect()
    want = sessions(frame.lazy()).filter(pl.col("day") == D3).collect()
    assert_frame_equal(got, want)
    assert got.select("user_id", "started_at").rows() == [("u1", at(D3, 3)), ("u2", at(D3, 12))]
