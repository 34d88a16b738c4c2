"""product_performance: views, carts and counted sales per product, category from the dimension."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
from polars.testing import assert_frame_equal

from assets.products import product_dimension, product_performance
from eventlake import lake
from eventlake.catalog import (
    DIM_PRODUCTS,
    GOLD_PRODUCT_PERFORMANCE,
    SILVER_ORDER_ITEMS,
    SILVER_ORDERS,
    SILVER_PRODUCT_EVENTS,
)
from eventlake.default_products import PRODUCTS
from eventlake.settings import Settings

D = date(2024, 3, 1)
T = datetime(2024, 3, 1, 12, tzinfo=UTC)


def pe(event_id: str, kind: str, product: str) -> tuple:
    return (event_id, kind, T, D, "u1", product, None, None)


EVENTS = pl.LazyFrame(
    [pe("1", "product_view", "p1"), pe("2", "product_view", "p1"), pe("3", "add_to_cart", "p1"),
     pe("4", "product_view", "p2"), pe("5", "product_view", "pX")],
    schema=SILVER_PRODUCT_EVENTS.schema, orient="row",
)  # fmt: skip
ORDERS = pl.LazyFrame(
    [("a", T, D, "u1", "o1", 20.0, "EUR", 1, 2), ("a2", T.replace(hour=13), D, "u1", "o1", 20.0,
      "EUR", 1, 2), ("b", T, D, "u2", "o2", 10.8, "USD", 1, 1),
     ("c", T, D, "u3", "o3", 5.0, "XYZ", 1, 1)],
    schema=SILVER_ORDERS.schema, orient="row",
)  # fmt: skip
ITEMS = pl.LazyFrame(
    [("a", D, "o1", 0, "p1", 2, 10.0, "EUR"), ("a2", D, "o1", 0, "p1", 2, 10.0, "EUR"),
     ("b", D, "o2", 0, "p2", 1, 10.8, "USD"), ("c", D, "o3", 0, "p1", 1, 5.0, "XYZ")],
    schema=SILVER_ORDER_ITEMS.schema, orient="row",
)  # fmt: skip
DIM = pl.LazyFrame({"product_id": ["p1", "p2"], "category": ["books", "toys"]})


def test_product_performance_by_hand() -> None:
    got = product_performance(EVENTS, ORDERS, ITEMS, DIM, D, D).collect()
    want = pl.DataFrame(
        [(D, "p1", "books", 2, 1, 3, 20.0), (D, "p2", "toys", 1, 0, 1, 10.0),
         (D, "pX", None, 1, 0, 0, 0.0)],
        schema=GOLD_PRODUCT_PERFORMANCE.schema, orient="row",
    )  # fmt: skip
    assert_frame_equal(got, want)


def test_the_lake_dimension_overrides_the_built_in_catalog(settings: Settings) -> None:
    built_in = product_dimension(settings).collect()
    assert built_in.height == len(PRODUCTS)
    mine = pl.DataFrame({"product_id": ["p1"], "name": ["Mine"], "category": ["garden"],
                         "price": [1.0], "currency": ["EUR"]})  # fmt: skip
    lake.replace_all(settings, DIM_PRODUCTS, mine)
    got = product_dimension(settings).collect()
    assert got.select("product_id", "category").rows() == [("p1", "garden")]
