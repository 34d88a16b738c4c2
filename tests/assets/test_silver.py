"""silver_events: dedup across days, registered types only, upcasting, lifted columns."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import polars as pl
from bronze_log_rows import bronze_frame, event, login
from polars.testing import assert_frame_equal

from assets.silver import silver_events
from eventlake.catalog import SILVER_EVENTS

D1, D2 = date(2024, 3, 1), date(2024, 3, 2)
T0 = datetime(2024, 3, 3, 8, tzinfo=UTC)


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def ingested(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


ORDER_V1 = {
    "user_id": "u3",
    "order_id": "o1",
    "total_amount": 30.0,
    "currency": "EUR",
    "items": [{"product_id": "p1", "quantity": 1}, {"product_id": "p2", "quantity": 2}],
}
SIGNUP_V1 = {"user_id": "u4", "signup_source": "ads", "plan": "free"}
SIGNUP_V2 = {"user_id": "u6", "signup_source": "seo", "plan": "pro", "country": "DE"}

BRONZE = bronze_frame(
    [
        # e1: first copy on D1; a later-ingested duplicate carries another time, on D2.
        login("e1", "u1", at(D1, 10), ingested_at=ingested(1), offset=1),
        login("e1", "u1", at(D2, 9), ingested_at=ingested(5), offset=7),
        # e2: two copies ingested at the same instant: the lower Kafka partition wins.
        event(
            "e2", "page_view", at(D1, 11), {"user_id": "u2", "url": "/a"},
            ingested_at=ingested(2), partition=1, offset=3,
        ),
        event(
            "e2", "page_view", at(D1, 11), {"user_id": "u2", "url": "/b"},
            ingested_at=ingested(2), partition=0, offset=9,
        ),
        event("e3", "coupon_applied", at(D1, 12), {"user_id": "u1"}, registered=False),
        event(
            "e4", "order_placed", at(D1, 13), ORDER_V1, metadata={"session_id": "s1", "source": "web"},
            topic="commerce_events", ingested_at=ingested(3),
        ),
        event("e5", "user_signup", at(D2, 8), SIGNUP_V1, ingested_at=ingested(4)),
        event("e6", "user_signup", at(D2, 9), SIGNUP_V2, version=2, ingested_at=ingested(4)),
        login("e7", "u1", at(D2, 10), version=3, ingested_at=ingested(4)),  # unknown version
        login("e8", "u5", at(D2, 11), metadata={"source": "ios"}, ingested_at=ingested(4)),
        # A type registered only after this event was ingested: its payload was never checked.
        login("e9", "u7", at(D2, 12), registered=False, ingested_at=ingested(4)),
    ]
)  # fmt: skip


def silver_of(day: date) -> pl.DataFrame:
    days = BRONZE.lazy().filter(pl.col("event_date") == day)
    return silver_events(days, BRONZE.lazy()).collect()


def expected(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=SILVER_EVENTS.schema)


def row(event_id: str, event_type: str, version: int, user: str, session: str | None,
        time: datetime, payload: str, metadata: str | None, ingested_at: datetime) -> dict:  # fmt: skip
    return {
        "event_id": event_id, "event_type": event_type, "schema_version": version,
        "aggregate_id": user, "user_id": user, "session_id": session, "event_time": time,
        "event_date": time.date(), "payload": payload, "metadata": metadata,
        "ingested_at": ingested_at,
    }  # fmt: skip


def test_day_one_keeps_winning_copies_and_upcasts_orders() -> None:
    order_v2 = (
        '{"user_id":"u3","order_id":"o1","total_amount":30.0,"currency":"EUR","items":'
        '[{"product_id":"p1","quantity":1,"unit_price":10.0},'
        '{"product_id":"p2","quantity":2,"unit_price":10.0}]}'
    )
    want = expected(
        [
            row("e1", "login", 1, "u1", None, at(D1, 10), json.dumps({"user_id": "u1"}), None,
                ingested(1)),
            row("e2", "page_view", 1, "u2", None, at(D1, 11),
                json.dumps({"user_id": "u2", "url": "/b"}), None, ingested(2)),
            row("e4", "order_placed", 2, "u3", "s1", at(D1, 13), order_v2,
                json.dumps({"session_id": "s1", "source": "web"}), ingested(3)),
        ]
    )  # fmt: skip
    assert_frame_equal(silver_of(D1), want)


def test_day_two_drops_the_losing_duplicate_unregistered_and_unknown_versions() -> None:
    signup_v2 = '{"user_id":"u4","signup_source":"ads","plan":"free","country":null}'
    want = expected(
        [
            row("e5", "user_signup", 2, "u4", None, at(D2, 8), signup_v2, None, ingested(4)),
            row("e6", "user_signup", 2, "u6", None, at(D2, 9), json.dumps(SIGNUP_V2), None,
                ingested(4)),
            row("e8", "login", 1, "u5", None, at(D2, 11), json.dumps({"user_id": "u5"}),
                json.dumps({"source": "ios"}), ingested(4)),
        ]
    )  # fmt: skip
    assert_frame_equal(silver_of(D2), want)


def test_a_duplicate_on_an_earlier_day_ingested_later_loses_too() -> None:
    early_copy = login("x1", "u1", at(D1, 7), ingested_at=ingested(9))
    first_copy = login("x1", "u1", at(D2, 7), ingested_at=ingested(1))
    bronze = bronze_frame([early_copy, first_copy]).lazy()
    day1 = silver_events(bronze.filter(pl.col("event_date") == D1), bronze).collect()
    day2 = silver_events(bronze.filter(pl.col("event_date") == D2), bronze).collect()
    assert day1.height == 0
    assert day2.get_column("event_id").to_list() == ["x1"]


def test_empty_input_gives_an_empty_frame_of_the_silver_schema() -> None:
    empty = bronze_frame([]).lazy()
    out = silver_events(empty, empty).collect()
    assert out.height == 0
    assert out.schema == SILVER_EVENTS.schema


def test_range_losers_agree_with_the_definition_on_random_copies() -> None:
    import random

    from assets.silver import clean, range_losers

    rng = random.Random(7)
    days = [date(2024, 3, d) for d in range(1, 8)]
    rows = []
    for n in range(300):
        for copy in range(rng.choice([1, 1, 1, 2, 3])):  # copies ingested at random moments
            day = rng.choice(days) if copy else days[n % 7]
            rows.append(login(f"x{n}", f"u{n % 13}", at(day, rng.randrange(24)),
                              ingested_at=ingested(rng.randrange(50)), offset=len(rows)))  # fmt: skip
    bronze = bronze_frame(rows).lazy()
    for first, last in [(days[0], days[-1]), (days[2], days[2]), (days[1], days[4])]:
        in_range = bronze.filter(pl.col("event_date").is_between(first, last))
        fast = clean(in_range, range_losers(bronze, first, last).lazy()).collect()
        assert_frame_equal(fast, silver_events(in_range, bronze).collect())
        assert fast.height == fast.get_column("event_id").n_unique()
