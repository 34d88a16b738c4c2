"""Per-user read models: the users dimension, lifecycle, weekly cohorts and RFM, by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
from polars.testing import assert_frame_equal

from assets.cohorts import cohort_retention
from assets.lifecycle import days_changed_for_new_users, lifecycle_daily
from assets.rfm import customer_rfm
from assets.users import users
from eventlake.catalog import (
    GOLD_COHORT_RETENTION,
    GOLD_CUSTOMER_RFM,
    GOLD_LIFECYCLE_DAILY,
    SILVER_ORDERS,
    SILVER_USER_SIGNUPS,
    SILVER_USERS,
)

D0 = date(2024, 3, 1)


def day(n: int) -> date:
    return D0 + timedelta(days=n)


def activity(rows: dict[str, list[date]]) -> pl.LazyFrame:
    pairs = [(d, u) for u, days in rows.items() for d in days]
    return pl.LazyFrame(pairs, schema={"day": pl.Date, "user_id": pl.String}, orient="row")


def test_lifecycle_by_hand() -> None:
    seen = activity({"u1": [day(0), day(1), day(3)], "u2": [day(1), day(2)], "u3": [day(3)],
                     "u4": [day(0)]})  # fmt: skip
    got = lifecycle_daily(seen, day(1), day(4)).collect()
    want = pl.DataFrame(
        # active, new, returning, resurrecting, dormant
        [(day(1), 2, 1, 1, 0, 1), (day(2), 1, 0, 1, 0, 1), (day(3), 2, 1, 0, 1, 1),
         (day(4), 0, 0, 0, 0, 2)],
        schema=GOLD_LIFECYCLE_DAILY.schema, orient="row",
    )  # fmt: skip
    assert_frame_equal(got, want)
    # u3 became new on day 3 with a late event? Then their next active day after day 4 changes.
    later = activity({"u3": [day(3), day(6), day(9)], "u1": [day(0), day(7)]})
    assert days_changed_for_new_users(later, {day(3)}).collect().to_series().to_list() == [day(6)]


def at(d: date, h: int = 12) -> datetime:
    return datetime(d.year, d.month, d.day, h, tzinfo=UTC)


SIGNUPS = pl.LazyFrame(
    [
        ("s2", at(date(2024, 3, 6)), date(2024, 3, 6), "u1", "seo", "pro", "FR"),  # second
        ("s1", at(date(2024, 3, 5)), date(2024, 3, 5), "u1", "ads", "free", None),  # first
        ("s3", at(date(2024, 3, 10)), date(2024, 3, 10), "u2", "ads", "free", "DE"),  # a Sunday
    ],
    schema=SILVER_USER_SIGNUPS.schema,
    orient="row",
)


def test_users_fold_first_signup_and_activity() -> None:
    seen = activity({"u1": [date(2024, 3, 5), date(2024, 3, 19)], "u2": [date(2024, 3, 10)],
                     "u3": [date(2024, 3, 1)]})  # fmt: skip
    want = pl.DataFrame(
        [
            ("u1", date(2024, 3, 5), date(2024, 3, 19), 2, at(date(2024, 3, 5)), date(2024, 3, 4),
             "ads", "free", None, 2),
            ("u2", date(2024, 3, 10), date(2024, 3, 10), 1, at(date(2024, 3, 10)),
             date(2024, 3, 4), "ads", "free", "DE", 1),
            ("u3", date(2024, 3, 1), date(2024, 3, 1), 1, None, None, None, None, None, 0),
        ],
        schema=SILVER_USERS.schema, orient="row",
    )  # fmt: skip
    assert_frame_equal(users(seen, SIGNUPS).collect(), want)


def test_cohort_retention_by_hand() -> None:
    w0, w1 = date(2024, 3, 4), date(2024, 3, 11)
    dim = pl.LazyFrame({"user_id": ["u1", "u2", "u3", "u4"], "cohort_week": [w0, w0, w1, None]})
    seen = activity({"u1": [date(2024, 3, 5), date(2024, 3, 19)],
                     "u2": [date(2024, 3, 4), date(2024, 3, 12)],
                     "u3": [date(2024, 3, 6), date(2024, 3, 13)],  # the 6th: before signing up
                     "u4": [date(2024, 3, 19)]})  # fmt: skip
    want = pl.DataFrame(
        [(w0, 0, 2, 2, 1.0), (w0, 1, 2, 1, 0.5), (w0, 2, 2, 1, 0.5),
         (w1, 0, 1, 1, 1.0), (w1, 1, 1, 0, 0.0)],
        schema=GOLD_COHORT_RETENTION.schema, orient="row",
    )  # fmt: skip
    assert_frame_equal(cohort_retention(dim, seen).collect(), want)


def order(event_id: str, user: str, order_id: str, total: float, cur: str, d: date) -> tuple:
    return (event_id, at(d), d, user, order_id, total, cur, 1, 1)


def test_customer_rfm_by_hand() -> None:
    today = day(30)
    orders = pl.LazyFrame(
        [
            order("a", "u1", "o1", 100.0, "EUR", today - timedelta(days=10)),
            order("b", "u1", "o2", 50.0, "EUR", today - timedelta(days=2)),
            order("c", "u2", "o3", 108.0, "USD", today - timedelta(days=5)),
            order("c2", "u2", "o3", 108.0, "USD", today - timedelta(days=1)),  # a copy
            order("d", "u3", "o4", 70.0, "XYZ", today - timedelta(days=1)),  # no rate
            order("e", "u4", "o5", 85.0, "GBP", today - timedelta(days=20)),
        ],
        schema=SILVER_ORDERS.schema,
        orient="row",
    )
    got = customer_rfm(orders, activity({"u9": [today]})).collect()
    want = pl.DataFrame(
        [
            ("u1", 2, 2, 150.0, 3, 4, 4, "loyal", today - timedelta(days=2), today, 0),
            ("u2", 5, 1, 100.0, 2, 1, 2, "hibernating", today - timedelta(days=5), today, 0),
            ("u3", 1, 1, 0.0, 4, 1, 1, "new_customers", today - timedelta(days=1), today, 1),
            ("u4", 20, 1, 100.0, 1, 1, 2, "lost", today - timedelta(days=20), today, 0),
        ],
        schema=GOLD_CUSTOMER_RFM.schema,
        orient="row",
    )
    assert_frame_equal(got, want)
