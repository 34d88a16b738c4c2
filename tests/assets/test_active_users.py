"""daily_active_users: DAU, WAU, MAU and stickiness against hand-computed and brute-force figures."""

from __future__ import annotations

import random
from datetime import date, timedelta

import polars as pl
from polars.testing import assert_frame_equal

from assets.active_users import daily_active_users, days_reading
from eventlake.catalog import GOLD_DAILY_ACTIVE_USERS

DAY0 = date(2024, 3, 1)


def day(n: int) -> date:
    return DAY0 + timedelta(days=n)


def events(activity: dict[str | None, list[int]]) -> pl.LazyFrame:
    rows = [(user, day(n)) for user, days in activity.items() for n in days]
    return pl.LazyFrame(rows, schema={"user_id": pl.String, "event_date": pl.Date}, orient="row")


# 40 days (0..39); days 32-34 have no active user (day 33 only an event without a user).
ACTIVITY: dict[str | None, list[int]] = {
    "u1": [0, 2, 35],  # day 0 lies before the window of the first reported day: ignored
    "u2": [10, 36, 37, 38, 39],
    "u3": [29],
    "u4": [5, 5],  # two events on one day count once
    "u5": [30, 31],
    "u6": [9],
    None: [33],
}


def test_forty_day_case_by_hand() -> None:
    got = daily_active_users(events(ACTIVITY), day(30), day(39)).collect()
    # day: (dau, wau, mau)
    figures = {
        30: (1, 2, 6), 31: (1, 2, 6), 32: (0, 2, 5), 33: (0, 2, 5), 34: (0, 2, 5),
        35: (1, 3, 5), 36: (1, 3, 5), 37: (1, 3, 5), 38: (1, 2, 5), 39: (1, 2, 4),
    }  # fmt: skip
    want = pl.DataFrame(
        [(day(n), d, w, m, d / m) for n, (d, w, m) in figures.items()],
        schema=GOLD_DAILY_ACTIVE_USERS.schema,
        orient="row",
    )
    assert_frame_equal(got, want)


def test_days_without_anyone_active_for_thirty_days_have_zero_stickiness() -> None:
    got = daily_active_users(events({"u1": [0]}), day(30), day(31)).collect()
    want = pl.DataFrame(
        [(day(30), 0, 0, 0, 0.0), (day(31), 0, 0, 0, 0.0)],
        schema=GOLD_DAILY_ACTIVE_USERS.schema,
        orient="row",
    )
    assert_frame_equal(got, want)


def brute_force(activity: dict[str | None, list[int]], first: int, last: int) -> pl.DataFrame:
    """The definition, literally: distinct users per window, one day at a time."""
    rows = []
    for d in range(first, last + 1):

        def active(width: int, d: int = d) -> set[str]:
            return {u for u, days in activity.items() if u and any(d - width < n <= d for n in days)}  # fmt: skip

        dau, wau, mau = len(active(1)), len(active(7)), len(active(30))
        rows.append((day(d), dau, wau, mau, dau / mau if mau else 0.0))
    return pl.DataFrame(rows, schema=GOLD_DAILY_ACTIVE_USERS.schema, orient="row")


def test_random_activity_matches_the_definition() -> None:
    rng = random.Random(20240301)
    activity: dict[str | None, list[int]] = {
        f"u{i}": rng.sample(range(90), rng.choice([1, 2, 3, 8, 20])) for i in range(150)
    }
    got = daily_active_users(events(activity), day(29), day(89)).collect()
    assert_frame_equal(got, brute_force(activity, 29, 89))


def test_days_reading_a_day_are_it_and_the_29_after() -> None:
    assert days_reading([day(0)]) == {day(n) for n in range(30)}
    assert days_reading([]) == set()
