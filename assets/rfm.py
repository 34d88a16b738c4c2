"""Customer RFM (gold/customer_rfm): recency, frequency and monetary value per customer.

As of the last day with any silver event (`as_of_day`): recency_days = as_of_day minus the day
of the customer's last counted order; frequency = counted orders (see
`revenue.counted_orders`); monetary = sum of their totals in EUR, converted with the static
rate table of `eventlake.currencies` (orders in a currency without a rate count in recency and
frequency but add nothing; they are counted in `unvalued_orders`), rounded to cents (so equal
spends tie after conversion). A customer is a user with
at least one counted order.

Scores are quintiles 1-5, higher is better: for a value x (-recency_days, frequency,
monetary), score = 1 + floor(5 * (r - 1) / n), where r is x's 1-based ascending rank with
ties sharing the lowest rank, and n the number of customers: equal values always get equal
scores, and the result does not depend on row order. Segments, first match wins:
champions (r>=4, f>=4, m>=4), loyal (r>=3, f>=3), new_customers (r>=4), promising (r=3),
at_risk (f>=3), hibernating (r=2), lost (r=1).
"""

from __future__ import annotations

import polars as pl

from assets.day_range import whole_table_asset
from assets.revenue import counted_orders
from eventlake.catalog import GOLD_CUSTOMER_RFM, SILVER_ORDERS, SILVER_USER_ACTIVITY_DAILY
from eventlake.currencies import to_reporting


def quintile(value: pl.Expr) -> pl.Expr:
    """Returns the 1-5 quintile score of `value` (higher value, higher score; ties share)."""
    rank = value.rank("min")
    return (1 + (5 * (rank - 1)) // pl.len()).cast(pl.Int8)


def segment(r: pl.Expr, f: pl.Expr, m: pl.Expr) -> pl.Expr:
    """Returns the segment name of scores r, f, m (the first rule that matches)."""
    return (
        pl.when((r >= 4) & (f >= 4) & (m >= 4)).then(pl.lit("champions"))
        .when((r >= 3) & (f >= 3)).then(pl.lit("loyal"))
        .when(r >= 4).then(pl.lit("new_customers"))
        .when(r == 3).then(pl.lit("promising"))
        .when(f >= 3).then(pl.lit("at_risk"))
        .when(r == 2).then(pl.lit("hibernating"))
        .otherwise(pl.lit("lost"))
    )  # fmt: skip


def customer_rfm(orders: pl.LazyFrame, activity: pl.LazyFrame) -> pl.LazyFrame:
    """One row per customer, sorted by user_id.

    Args:
        orders: silver/orders of every day.
        activity: silver/user_activity_daily (`day`) of every day: its last day is "as of".
    """
    as_of = activity.select(as_of_day=pl.col("day").max())
    value = to_reporting(pl.col("total_amount"), pl.col("currency"))
    per_user = (
        counted_orders(orders)
        .filter(pl.col("user_id").is_not_null())
        .group_by("user_id")
        .agg(
            last_order_day=pl.col("event_date").max(),
            frequency=pl.len(),
            monetary=value.sum().round(2),  # cents: converted amounts must tie when equal
            unvalued_orders=value.is_null().sum(),
        )
        .join(as_of, how="cross")
        .with_columns(recency_days=(pl.col("as_of_day") - pl.col("last_order_day")).dt.total_days())
    )
    scored = per_user.with_columns(
        r_score=quintile(-pl.col("recency_days")),
        f_score=quintile(pl.col("frequency")),
        m_score=quintile(pl.col("monetary")),
    )
    return (
        scored.with_columns(
            segment=segment(pl.col("r_score"), pl.col("f_score"), pl.col("m_score"))
        )
        .select(GOLD_CUSTOMER_RFM.schema.names())
        .sort("user_id")
        .cast(GOLD_CUSTOMER_RFM.schema)
    )


customer_rfm_table = whole_table_asset(
    GOLD_CUSTOMER_RFM, customer_rfm, SILVER_ORDERS, SILVER_USER_ACTIVITY_DAILY
)
