"""funnel_daily: entry at the first product view of the day; cart and counted order in 24 h."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
from polars.testing import assert_frame_equal

from assets.funnel import funnel_daily
from eventlake.catalog import GOLD_FUNNEL_DAILY, SILVER_ORDERS, SILVER_PRODUCT_EVENTS

D1, D2, D3 = date(2024, 3, 1), date(2024, 3, 2), date(2024, 3, 3)


def at(day: date, h: int, m: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, h, m, tzinfo=UTC)


def pe(kind: str, user: str, when: datetime) -> tuple:
    return (f"{kind}-{user}-{when}", kind, when, when.date(), user, "p1", None, None)


def o(event_id: str, user: str, order_id: str, when: datetime) -> tuple:
    return (event_id, when, when.date(), user, order_id, 10.0, "EUR", 1, 1)


PRODUCT = pl.LazyFrame(
    [
        pe("product_view", "u1", at(D1, 11)),
        pe("product_view", "u1", at(D1, 10)),  # u1's entry on D1
        pe("add_to_cart", "u1", at(D1, 10, 30)),
        pe("product_view", "u2", at(D1, 9)),
        pe("add_to_cart", "u2", at(D1, 8)),  # before the entry: does not count
        pe("add_to_cart", "u2", at(D2, 9)),  # exactly 24 h after: counts
        pe("product_view", "u3", at(D1, 20)),
        pe("add_to_cart", "u3", at(D2, 10)),
        pe("product_view", "u4", at(D1, 12)),
        pe("add_to_cart", "u4", at(D1, 12, 10)),
        pe("product_view", "u5", at(D2, 7)),
        pe("add_to_cart", "u5", at(D2, 7, 30)),
        pe("product_view", "u1", at(D2, 8)),  # u1 enters again on D2; no cart after it
    ],
    schema=SILVER_PRODUCT_EVENTS.schema,
    orient="row",
)
ORDERS = pl.LazyFrame(
    [
        o("a", "u1", "o1", at(D1, 12)),  # 2 h after entry
        o("b", "u2", "o2", at(D2, 9, 30)),  # more than 24 h after u2's entry
        o("c", "u3", "o3", at(D2, 11)),  # 15 h after entry, after the cart
        o("d2", "u4", "o4", at(D1, 12, 20)),  # a later copy of o4...
        o("d1", "u4", "o4", at(D1, 12, 5)),  # ...counted here: before u4's cart
    ],
    schema=SILVER_ORDERS.schema,
    orient="row",
)


def test_funnel_by_hand() -> None:
    got = funnel_daily(PRODUCT, ORDERS, D1, D3).collect()
    want = pl.DataFrame(
        [
            (D1, 4, 4, 2, 1.0, 0.5, 0.5, (7200 + 54000) / 2),
            (D2, 2, 1, 0, 0.5, 0.0, 0.0, None),
            (D3, 0, 0, 0, None, None, None, None),
        ],
        schema=GOLD_FUNNEL_DAILY.schema,
        orient="row",
    )
    assert_frame_equal(got, want)


def test_events_of_the_next_day_are_read_but_not_reported() -> None:
    got = funnel_daily(PRODUCT, ORDERS, D1, D1).collect()
    assert got.select("viewed", "carted", "ordered").row(0) == (4, 4, 2)
