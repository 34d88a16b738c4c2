"""revenue_daily: each order_id counted once, on the day of its earliest event, per currency."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import polars as pl
from polars.testing import assert_frame_equal

from assets.revenue import days_sharing_orders, revenue_daily
from eventlake.catalog import GOLD_REVENUE_DAILY

R0, R1, R2, R3 = date(2024, 4, 30), date(2024, 5, 1), date(2024, 5, 2), date(2024, 5, 3)


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def order(event_id: str, order_id: str, total: float, currency: str, time: datetime,
          *, v1: bool = False) -> dict:  # fmt: skip
    item = {"product_id": "p1", "quantity": 2}
    if not v1:
        item["unit_price"] = total / 2
    payload = {"user_id": "u1", "order_id": order_id, "total_amount": total,
               "currency": currency, "items": [item]}  # fmt: skip
    return {"event_id": event_id, "event_type": "order_placed", "event_time": time,
            "event_date": time.date(), "payload": json.dumps(payload)}  # fmt: skip


SCHEMA = {
    "event_id": pl.String,
    "event_type": pl.String,
    "event_time": pl.Datetime("us", "UTC"),
    "event_date": pl.Date,
    "payload": pl.String,
}
EVENTS = pl.LazyFrame(
    [
        order("a1", "o1", 30.0, "EUR", at(R1, 10)),
        order("a2", "o1", 30.0, "EUR", at(R2, 9)),  # later duplicate, another day
        order("b2", "o2", 50.0, "EUR", at(R2, 12)),
        order("b1", "o2", 45.0, "USD", at(R2, 12)),  # same time: smallest event_id wins
        order("c1", "o3", 20, "USD", at(R2, 14), v1=True),  # integer amount, v1 shape
        order("d1", "o4", 100.0, "EUR", at(R0, 23)),  # counts before the range...
        order("d2", "o4", 100.0, "EUR", at(R1, 1)),  # ...so not on R1
        order("e2", "o5", 7.5, "EUR", at(R3, 10)),
        order("e1", "o5", 12.0, "EUR", at(R2, 8)),  # arrived late, but earlier: counts on R2
        order("f1", "o6", 10.0, "EUR", at(R3, 11)),
        order("g1", "o7", 20.0, "EUR", at(R3, 12)),
        {"event_id": "h1", "event_type": "login", "event_time": at(R1, 9), "event_date": R1,
         "payload": json.dumps({"user_id": "u1", "order_id": "o9", "total_amount": 99,
                                "currency": "EUR"})},
    ],
    schema=SCHEMA,
)  # fmt: skip


def test_revenue_per_day_and_currency_by_hand() -> None:
    got = revenue_daily(EVENTS, R1, R3).collect()
    want = pl.DataFrame(
        [
            (R1, "EUR", 1, 30.0, 30.0),
            (R2, "EUR", 1, 12.0, 12.0),
            (R2, "USD", 2, 65.0, 32.5),
            (R3, "EUR", 2, 30.0, 15.0),
        ],
        schema=GOLD_REVENUE_DAILY.schema,
        orient="row",
    )
    assert_frame_equal(got, want)


def test_a_day_without_orders_has_no_rows() -> None:
    got = revenue_daily(EVENTS, date(2024, 6, 1), date(2024, 6, 2)).collect()
    assert got.height == 0
    assert got.schema == GOLD_REVENUE_DAILY.schema


def test_days_sharing_orders_with_rewritten_days() -> None:
    got = days_sharing_orders(EVENTS, [R2]).collect()
    assert got.get_column("event_date").to_list() == [R1, R3]  # o1 on R1, o5 on R3
    assert days_sharing_orders(EVENTS, [R3]).collect().get_column("event_date").to_list() == [R2]
