"""Today's tumbling and hopping windows against hand-computed figures, and against the hourly
read model's own projection."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import polars as pl
from polars.testing import assert_frame_equal

from assets.hourly import traffic_hourly
from dashboard.data import intraday, live
from dashboard.data.scope import Scope
from eventlake.settings import Settings
from tests.assets.bronze_log_rows import append_bronze, login, order

NOW = datetime(2026, 3, 1, 14, 30, 20, tzinfo=UTC)
DAY = NOW.date()
NO_PAST_ORDERS = pl.DataFrame(schema={"order_hash": pl.UInt64})


def events(rows: list[tuple[str, str, datetime, str, dict[str, object]]]) -> pl.DataFrame:
    """Returns `live.day_events` columns of (id, type, time, user, payload) rows."""
    return pl.DataFrame(
        [(i, t, at, at.date(), json.dumps({"user_id": u, **p}), u) for i, t, at, u, p in rows],
        schema={"event_id": pl.String, "event_type": pl.String,
                "event_time": pl.Datetime("us", "UTC"), "event_date": pl.Date,
                "payload": pl.String, "user_id": pl.String},
        orient="row",
    )  # fmt: skip


def at(hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, 3, 1, hour, minute, second, tzinfo=UTC)


def placed(order_id: str, total: float, currency: str) -> dict[str, object]:
    item = {"product_id": "p1", "quantity": 1, "unit_price": total}
    return {"order_id": order_id, "total_amount": total, "currency": currency, "items": [item]}


DAY_EVENTS = events([
    ("a", "login", at(2, 0), "u1", {}),
    ("b", "page_view", at(13, 29, 59), "u1", {}),  # 61 minutes before NOW: out of the hour
    ("c", "page_view", at(13, 31), "u2", {}),
    ("d", "page_view", at(13, 31, 30), "u2", {}),
    ("e", "order_placed", at(14, 5), "u2", placed("o1", 10.0, "EUR")),
    ("f", "order_placed", at(14, 6), "u3", placed("o1", 10.0, "EUR")),  # o1 again: not counted
    ("g", "order_placed", at(14, 30, 10), "u3", placed("o2", 4.5, "USD")),
    ("h", "order_placed", at(14, 20), "u1", placed("o-old", 3.0, "EUR")),  # counted yesterday
])  # fmt: skip


def test_minutes_hours_and_the_last_hour_by_hand() -> None:
    past = pl.DataFrame({"order_id": ["o-old"]}).select(order_hash=live.ORDER_HASH)
    found = intraday.windows(DAY_EVENTS, past, NOW)

    minutes = found.minutes.filter(pl.col("events") > 0)
    assert found.minutes.height == 60 and found.minutes["start"][-1] == at(14, 30)
    assert minutes.rows() == [
        (at(13, 31), 2, 1), (at(14, 5), 1, 1), (at(14, 6), 1, 1), (at(14, 20), 1, 1),
        (at(14, 30), 1, 1),
    ]  # fmt: skip
    assert found.hours.height == 15  # 00:00 .. 14:00
    assert found.hours.filter(pl.col("events") > 0).rows() == [
        (at(2, 0), 1, 1), (at(13, 0), 3, 2), (at(14, 0), 4, 3),
    ]  # fmt: skip
    assert (found.last_hour_events, found.last_hour_users) == (6, 3)  # c..h
    assert found.last_hour_revenue.rows() == [("EUR", 1, 10.0), ("USD", 1, 4.5)]


def test_the_hours_of_today_are_the_hourly_read_model_of_its_events() -> None:
    found = intraday.windows(DAY_EVENTS, NO_PAST_ORDERS, NOW).hours.filter(pl.col("events") > 0)
    gold = traffic_hourly(DAY_EVENTS.lazy(), DAY, DAY).collect()
    assert_frame_equal(found.rename({"start": "hour"}), gold.drop("day"))


def test_the_query_reads_todays_log(settings: Settings) -> None:
    now = datetime.now(UTC)
    today = now.date()
    midnight = datetime(today.year, today.month, today.day, tzinfo=UTC)
    earlier = max(now - timedelta(minutes=5), midnight)  # today, even just after midnight
    append_bronze(settings, [
        login("l1", "u1", earlier),
        login("l2", "u2", earlier),
        order("o1", "u2", "o-1", 12.5, "GBP", earlier),
        login("l1", "u1", earlier),  # a re-delivered copy: once
    ])  # fmt: skip
    found = intraday.intraday(settings, Scope(first=today, last=today))
    assert found.last_hour_events == 3 and found.last_hour_users == 2
    assert found.last_hour_revenue.rows() == [("GBP", 1, 12.5)]
    assert found.minutes["events"].sum() == 3
    assert found.hours["events"].sum() == 3 and found.hours.height == found.now.hour + 1


def test_an_empty_day_has_every_window_at_zero() -> None:
    found = intraday.windows(DAY_EVENTS.clear(), NO_PAST_ORDERS, NOW)
    assert found.minutes["events"].sum() == 0 and found.minutes.height == 60
    assert found.last_hour_revenue.is_empty() and found.last_hour_events == 0
    assert date(2026, 3, 1) == found.hours["start"][0].date()
