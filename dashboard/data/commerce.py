"""What the Revenue, Products and Funnel pages read: plain functions of (settings, scope).

Each reads its gold table, or for a segment runs the table's projection (dashboard/data/
__init__.py): the orders counted for everyone, kept when one of those users placed them.
No Streamlit.
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from dashboard.data import reads
from dashboard.data.scope import Scope
from dashboard.data.segments import restrict, users_of
from eventlake import lake
from eventlake.catalog import (
    DIM_PRODUCTS,
    GOLD_FUNNEL_DAILY,
    GOLD_PRODUCT_PERFORMANCE,
    GOLD_REVENUE_BY_PRODUCT,
    SILVER_ORDER_ITEMS,
    SILVER_ORDERS,
    SILVER_PRODUCT_EVENTS,
)
from eventlake.default_products import products_frame
from eventlake.settings import Settings


def products(settings: Settings, scope: Scope) -> pl.DataFrame:
    """Returns the product dimension as of the scope's moment: dim/products when it exists,
    else the built-in catalog.

    Columns: product_id, name, category (one row per product), as the assets join it.
    """
    if lake.open_table(settings, DIM_PRODUCTS) is not None:
        frame = lake.scan(settings, DIM_PRODUCTS, version=scope.as_of)
    else:
        frame = products_frame().lazy()
    return reads.collect(
        DIM_PRODUCTS,
        frame.select("product_id", "name", "category").unique("product_id", keep="first"),
    )


def counted(settings: Settings, scope: Scope) -> pl.DataFrame:
    """Returns the orders counted for everyone (the earliest event of each order id) from
    silver/orders as of the scope's moment, read once per table version."""
    from assets.revenue import counted_orders  # deferred: see the package docstring

    as_of = scope.as_of
    return reads.versioned(
        settings, SILVER_ORDERS, as_of, ("counted",),
        lambda: counted_orders(lake.scan(settings, SILVER_ORDERS, version=as_of)),
    )  # fmt: skip


def _counted(settings: Settings, scope: Scope) -> pl.LazyFrame:
    """The orders counted for everyone, of the scope's users."""
    orders = counted(settings, scope).lazy()
    return restrict(orders, users_of(settings, scope.segment, scope.as_of))


def revenue_by_product(settings: Settings, scope: Scope) -> pl.DataFrame:
    """Returns gold/revenue_by_product rows (day, product_id, currency, units, revenue) of the
    scope's days and currencies, sorted by day, product and currency."""
    spec = GOLD_REVENUE_BY_PRODUCT
    if scope.segment.is_everyone:
        frame = reads.scan_days(settings, spec, scope.first, scope.last, scope.as_of)
    else:
        from assets.revenue import (
            revenue_by_product as by_product_projection,  # deferred: see the package docstring
        )

        items = reads.scan_days(settings, SILVER_ORDER_ITEMS, scope.first, scope.last, scope.as_of)
        frame = by_product_projection(_counted(settings, scope), items, scope.first, scope.last)
    if scope.currencies:
        frame = frame.filter(pl.col("currency").is_in(list(scope.currencies)))
    frame = frame.select(spec.schema.names()).sort("day", "product_id", "currency")
    return reads.collect(spec, frame)


def product_performance(settings: Settings, scope: Scope) -> pl.DataFrame:
    """Returns gold/product_performance rows (day, product_id, category, views, add_to_carts,
    units, revenue in EUR) of the scope's days, sorted by day and product."""
    spec = GOLD_PRODUCT_PERFORMANCE
    if scope.segment.is_everyone:
        frame = reads.scan_days(settings, spec, scope.first, scope.last, scope.as_of)
    else:
        from assets.products import (
            product_performance as performance_projection,  # deferred: see the package docstring
        )

        users = users_of(settings, scope.segment, scope.as_of)
        events = reads.scan_days(
            settings, SILVER_PRODUCT_EVENTS, scope.first, scope.last, scope.as_of
        )
        items = reads.scan_days(settings, SILVER_ORDER_ITEMS, scope.first, scope.last, scope.as_of)
        frame = performance_projection(
            restrict(events, users),
            _counted(settings, scope),
            items,
            products(settings, scope).lazy(),
            scope.first,
            scope.last,
        )
    return reads.collect(spec, frame.select(spec.schema.names()).sort("day", "product_id"))


def funnel(settings: Settings, scope: Scope) -> pl.DataFrame:
    """Returns gold/funnel_daily rows of the scope's days (viewed, carted, ordered, rates,
    median seconds to order), oldest first."""
    spec = GOLD_FUNNEL_DAILY
    if scope.segment.is_everyone:
        frame = reads.scan_days(settings, spec, scope.first, scope.last, scope.as_of)
    else:
        from assets.funnel import funnel_daily  # deferred: see the package docstring

        users = users_of(settings, scope.segment, scope.as_of)
        events = reads.scan_days(
            settings,
            SILVER_PRODUCT_EVENTS,
            scope.first,
            scope.last + timedelta(days=1),
            scope.as_of,
        ).select("event_type", "event_time", "event_date", "user_id")  # what the funnel reads
        frame = funnel_daily(
            restrict(events, users), _counted(settings, scope), scope.first, scope.last
        )
    return reads.collect(spec, frame.select(spec.schema.names()).sort("day"))
