"""Typed silver tables: payloads decoded once into columns, v1 orders and signups upcast."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
from bronze_log_rows import bronze_frame, event, login
from polars.testing import assert_frame_equal

from assets.silver import silver_events
from assets.typed_silver import typed_tables
from eventlake.catalog import (
    SILVER_ORDER_ITEMS,
    SILVER_ORDERS,
    SILVER_PRODUCT_EVENTS,
    SILVER_USER_ACTIVITY_DAILY,
    SILVER_USER_SIGNUPS,
)

D = date(2024, 3, 1)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 3, 1, hour, minute, tzinfo=UTC)


V1 = {"user_id": "u1", "order_id": "o1", "total_amount": 30, "currency": "EUR",
      "items": [{"product_id": "p1", "quantity": 1}, {"product_id": "p2", "quantity": 2}]}  # fmt: skip
V2 = {"user_id": "u2", "order_id": "o2", "total_amount": 7.5, "currency": "USD", "coupon": "X",
      "items": [{"product_id": "p3", "quantity": 3, "unit_price": 2.5}]}  # fmt: skip
BRONZE = bronze_frame(
    [
        event("o1", "order_placed", at(10), V1, version=1, topic="commerce_events"),
        event("o2", "order_placed", at(11), V2, version=2, topic="commerce_events"),
        event(
            "v1", "product_view", at(9), {"user_id": "u1", "product_id": "p1", "view_duration": 4}
        ),
        event("c1", "add_to_cart", at(9, 5), {"user_id": "u1", "product_id": "p1", "quantity": 2}),
        event(
            "s1", "user_signup", at(8), {"user_id": "u1", "signup_source": "ads", "plan": "free"}
        ),
        event(
            "s2",
            "user_signup",
            at(8, 30),
            {"user_id": "u2", "signup_source": "seo", "plan": "pro", "country": "DE"},
            version=2,
        ),
        login("l1", "u1", at(23, 59)),
    ]
)


def tables() -> dict[str, pl.DataFrame]:
    silver = silver_events(BRONZE.lazy(), BRONZE.lazy()).collect()
    return typed_tables(silver)


def test_orders_and_items_with_v1_unit_prices_upcast() -> None:
    got = tables()
    orders = pl.DataFrame(
        [("o1", at(10), D, "u1", "o1", 30.0, "EUR", 2, 3),
         ("o2", at(11), D, "u2", "o2", 7.5, "USD", 1, 3)],
        schema=SILVER_ORDERS.schema, orient="row",
    )  # fmt: skip
    assert_frame_equal(got[SILVER_ORDERS.name].sort("event_id"), orders)
    items = pl.DataFrame(
        [("o1", D, "o1", 0, "p1", 1, 10.0, "EUR"), ("o1", D, "o1", 1, "p2", 2, 10.0, "EUR"),
         ("o2", D, "o2", 0, "p3", 3, 2.5, "USD")],
        schema=SILVER_ORDER_ITEMS.schema, orient="row",
    )  # fmt: skip
    assert_frame_equal(got[SILVER_ORDER_ITEMS.name].sort("event_id", "item"), items)


def test_product_events_signups_and_activity() -> None:
    got = tables()
    product = pl.DataFrame(
        [("c1", "add_to_cart", at(9, 5), D, "u1", "p1", 2, None),
         ("v1", "product_view", at(9), D, "u1", "p1", None, 4.0)],
        schema=SILVER_PRODUCT_EVENTS.schema, orient="row",
    )  # fmt: skip
    assert_frame_equal(got[SILVER_PRODUCT_EVENTS.name].sort("event_id"), product)
    signups = pl.DataFrame(
        [("s1", at(8), D, "u1", "ads", "free", None), ("s2", at(8, 30), D, "u2", "seo", "pro", "DE")],
        schema=SILVER_USER_SIGNUPS.schema, orient="row",
    )  # fmt: skip
    assert_frame_equal(got[SILVER_USER_SIGNUPS.name].sort("event_id"), signups)
    activity = pl.DataFrame(
        [(D, "u1", 5, at(8), at(23, 59)), (D, "u2", 2, at(8, 30), at(11))],
        schema=SILVER_USER_ACTIVITY_DAILY.schema, orient="row",
    )  # fmt: skip
    assert_frame_equal(got[SILVER_USER_ACTIVITY_DAILY.name], activity)


def test_an_empty_day_gives_empty_tables_of_each_schema() -> None:
    empty = silver_events(bronze_frame([]).lazy(), bronze_frame([]).lazy()).collect()
    for name, frame in typed_tables(empty).items():
        assert frame.height == 0, name
