"""revenue_daily and revenue_by_product: each order_id counted once, on the day of its earliest
event, per currency; items priced after upcasting."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
from polars.testing import assert_frame_equal

from assets.revenue import days_sharing_orders, revenue_by_product, revenue_daily
from eventlake.catalog import (
    GOLD_REVENUE_BY_PRODUCT,
    GOLD_REVENUE_DAILY,
    SILVER_ORDER_ITEMS,
    SILVER_ORDERS,
)

R0, R1, R2, R3 = date(2024, 4, 30), date(2024, 5, 1), date(2024, 5, 2), date(2024, 5, 3)


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def order(event_id: str, order_id: str, total: float, currency: str, time: datetime) -> tuple:
    return (event_id, time, time.date(), "u1", order_id, total, currency, 1, 2)


ORDERS = pl.LazyFrame(
    [
        order("a1", "o1", 30.0, "EUR", at(R1, 10)),
        order("a2", "o1", 30.0, "EUR", at(R2, 9)),  # later duplicate, another day
        order("b2", "o2", 50.0, "EUR", at(R2, 12)),
        order("b1", "o2", 45.0, "USD", at(R2, 12)),  # same time: smallest event_id wins
        order("c1", "o3", 20.0, "USD", at(R2, 14)),
        order("d1", "o4", 100.0, "EUR", at(R0, 23)),  # counts before the range...
        order("d2", "o4", 100.0, "EUR", at(R1, 1)),  # ...so not on R1
        order("e2", "o5", 7.5, "EUR", at(R3, 10)),
        order("e1", "o5", 12.0, "EUR", at(R2, 8)),  # arrived late, but earlier: counts on R2
        order("f1", "o6", 10.0, "EUR", at(R3, 11)),
        order("g1", "o7", 20.0, "EUR", at(R3, 12)),
    ],
    schema=SILVER_ORDERS.schema,
    orient="row",
)


def test_revenue_per_day_and_currency_by_hand() -> None:
    got = revenue_daily(ORDERS, R1, R3).collect()
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
    got = revenue_daily(ORDERS, date(2024, 6, 1), date(2024, 6, 2)).collect()
    assert got.height == 0
    assert got.schema == GOLD_REVENUE_DAILY.schema


def test_days_sharing_orders_with_rewritten_days() -> None:
    got = days_sharing_orders(ORDERS, [R2]).collect()
    assert got.get_column("event_date").to_list() == [R1, R3]  # o1 on R1, o5 on R3
    assert days_sharing_orders(ORDERS, [R3]).collect().get_column("event_date").to_list() == [R2]


def item(event_id: str, day: date, n: int, product: str, qty: int, price: float, cur: str) -> tuple:
    return (event_id, day, "o", n, product, qty, price, cur)


ITEMS = pl.LazyFrame(
    [
        item("a1", R1, 0, "p1", 1, 10.0, "EUR"),  # v2 order o1: 1 x 10 + 2 x 10
        item("a1", R1, 1, "p2", 2, 10.0, "EUR"),
        item("a2", R2, 0, "p1", 3, 10.0, "EUR"),  # the duplicate of o1: not counted
        item("b1", R2, 0, "p1", 3, 15.0, "USD"),  # o2 counts as b1 (USD)
        item("b2", R2, 0, "p1", 5, 10.0, "EUR"),
        item("c1", R2, 0, "p2", 4, 5.0, "USD"),  # v1 order o3 upcast: 20 / 4 units = 5.0
        item("e1", R2, 0, "p2", 1, 12.0, "EUR"),
        item("e1", R2, 1, "p2", 1, 0.0, "EUR"),  # the same product twice in one order
    ],
    schema=SILVER_ORDER_ITEMS.schema,
    orient="row",
)


def test_revenue_by_product_counts_items_of_counted_orders_only() -> None:
    got = revenue_by_product(ORDERS, ITEMS, R1, R2).collect()
    want = pl.DataFrame(
        [
            (R1, "p1", "EUR", 1, 10.0),
            (R1, "p2", "EUR", 2, 20.0),
            (R2, "p1", "USD", 3, 45.0),
            (R2, "p2", "EUR", 2, 12.0),
            (R2, "p2", "USD", 4, 20.0),
        ],
        schema=GOLD_REVENUE_BY_PRODUCT.schema,
        orient="row",
    )
    assert_frame_equal(got, want)
