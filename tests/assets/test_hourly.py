"""The hourly read models against hand-computed figures, a late event and a re-sent order included."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
from polars.testing import assert_frame_equal

from eventlake import lake
from eventlake.catalog import GOLD_REVENUE_DAILY, GOLD_REVENUE_HOURLY, GOLD_TRAFFIC_HOURLY
from eventlake.settings import Settings
from orchestration.materialize import materialize_days
from tests.assets.bronze_log_rows import append_bronze, login, order

D1, D2 = date(2026, 3, 1), date(2026, 3, 2)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def traffic(rows: list[tuple[date, int, int, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        [(d, at(d, h), e, u) for d, h, e, u in rows],
        schema=GOLD_TRAFFIC_HOURLY.schema, orient="row",
    )  # fmt: skip


def revenue(rows: list[tuple[date, int, str, int, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        [(d, at(d, h), c, n, r) for d, h, c, n, r in rows],
        schema=GOLD_REVENUE_HOURLY.schema, orient="row",
    )  # fmt: skip


def test_hours_count_events_users_and_orders_once(settings: Settings) -> None:
    append_bronze(settings, [
        login("e1", "u1", at(D1, 9, 5)),
        login("e2", "u1", at(D1, 9, 50)),
        login("e3", "u2", at(D1, 9, 59)),
        order("o1-a", "u1", "o1", 10.0, "EUR", at(D1, 10, 0)),
        order("o2-a", "u2", "o2", 5.5, "USD", at(D1, 10, 30)),
        order("o3-a", "u2", "o3", 2.0, "EUR", at(D1, 23, 59)),
        # the same order again the next day: it counted at its first event, never twice
        order("o1-b", "u1", "o1", 10.0, "EUR", at(D2, 0, 10)),
        login("e1", "u1", at(D1, 9, 5)),  # a re-delivered copy: one event
    ])  # fmt: skip
    materialize_days(settings, D1, D2)

    assert_frame_equal(
        lake.scan(settings, GOLD_TRAFFIC_HOURLY).collect().sort("hour"),
        traffic([(D1, 9, 3, 2), (D1, 10, 2, 2), (D1, 23, 1, 1), (D2, 0, 1, 1)]),
    )
    assert_frame_equal(
        lake.scan(settings, GOLD_REVENUE_HOURLY).collect().sort("hour", "currency"),
        revenue([(D1, 10, "EUR", 1, 10.0), (D1, 10, "USD", 1, 5.5), (D1, 23, "EUR", 1, 2.0)]),
    )
    hours = (
        lake.scan(settings, GOLD_REVENUE_HOURLY)
        .group_by("day", "currency")
        .agg(pl.col("orders", "revenue").sum())
    )
    daily = lake.scan(settings, GOLD_REVENUE_DAILY).select("day", "currency", "orders", "revenue")
    assert_frame_equal(hours.collect().sort(pl.all()), daily.collect().sort(pl.all()))


def test_a_late_event_lands_in_its_hour(settings: Settings) -> None:
    append_bronze(settings, [login("e1", "u1", at(D1, 14, 0)), login("e2", "u2", at(D2, 8, 0))])
    materialize_days(settings, D1, D2)
    # later, an event of D1 14:45 and an order of D1 15:01 arrive
    late = datetime.now(UTC) + timedelta(seconds=1)
    append_bronze(settings, [
        login("late", "u3", at(D1, 14, 45), ingested_at=late),
        order("o-late", "u3", "o9", 7.0, "GBP", at(D1, 15, 1), ingested_at=late),
    ])  # fmt: skip
    materialize_days(settings, D1, D1)

    assert_frame_equal(
        lake.scan(settings, GOLD_TRAFFIC_HOURLY).collect().sort("hour"),
        traffic([(D1, 14, 2, 2), (D1, 15, 1, 1), (D2, 8, 1, 1)]),
    )
    assert_frame_equal(
        lake.scan(settings, GOLD_REVENUE_HOURLY).collect(),
        revenue([(D1, 15, "GBP", 1, 7.0)]),
    )
