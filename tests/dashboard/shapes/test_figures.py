"""The pure parts of the dashboard: figures, formats, charts, the day range, the freshness line."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest

from dashboard.data.lake_state import Freshness, TableFreshness
from dashboard.data.scope import Scope, Segment
from dashboard.shapes import charts, figures
from dashboard.shapes.totals import currency_totals, funnel_totals
from dashboard.shell import session, widgets
from eventlake.catalog import BRONZE_EVENTS, GOLD_DAILY_ACTIVE_USERS, GOLD_REVENUE_DAILY

D = date(2024, 6, 10)


def day(i: int) -> date:
    """Returns the i-th day after D."""
    return D + timedelta(days=i)


def test_day_figure_takes_the_day_and_the_day_before(frames) -> None:
    users = frames.users([(day(0), 10, 20, 40), (day(1), 13, 21, 40), (day(3), 9, 22, 41)])

    assert figures.day_figure(users, "dau", day(1)) == figures.DayFigure(day(1), 13, 10)
    assert figures.day_figure(users, "dau", day(1)).delta == 3
    gap = figures.day_figure(users, "dau", day(3))  # day 2 has no row
    assert (gap.value, gap.previous, gap.delta) == (9, None, None)
    assert figures.day_figure(users, "dau", day(5)).value is None


def test_latest_day_is_the_newest_row_within_the_range(frames) -> None:
    users = frames.users([(day(0), 1, 1, 1), (day(4), 1, 1, 1)])
    revenue = frames.revenue([(day(2), "EUR", 1, 1.0), (day(9), "EUR", 1, 1.0)])

    assert figures.latest_day(day(0), day(5), users, revenue) == day(4)
    assert figures.latest_day(day(0), day(3), users, revenue) == day(2)
    assert figures.latest_day(day(5), day(8), users, revenue) is None
    assert figures.latest_day(day(0), day(9), users.clear(), revenue.clear()) is None


def test_currencies_put_the_most_orders_first_ties_alphabetical(frames) -> None:
    revenue = frames.revenue(
        [(day(0), "USD", 2, 1.0), (day(1), "USD", 2, 1.0), (day(0), "GBP", 4, 1.0),
         (day(0), "EUR", 4, 1.0), (day(1), "JPY", 1, 100.0)]
    )  # fmt: skip
    assert figures.currencies(revenue) == ["EUR", "GBP", "USD", "JPY"]
    assert figures.currencies(revenue.clear()) == []


def test_currency_daily_counts_known_days_without_orders_as_zero(frames) -> None:
    revenue = frames.revenue(
        [(day(0), "EUR", 2, 30.0), (day(2), "EUR", 1, 5.0), (day(1), "USD", 1, 9.0)]
    )
    known = pl.Series([day(0), day(1), day(2)])

    got = figures.currency_daily(revenue, known, "EUR")

    assert got.rows() == [(day(0), 2, 30.0, 15.0), (day(1), 0, 0.0, None), (day(2), 1, 5.0, 5.0)]
    assert figures.day_figure(got, "revenue", day(1)).delta == -30.0
    unknown = figures.currency_daily(revenue, pl.Series([day(2)], dtype=pl.Date), "EUR")
    assert unknown["day"].to_list() == [day(0), day(2)]  # day 1 unknown: no row, no delta


def test_activity_long_has_one_row_per_day_and_measure(frames) -> None:
    users = frames.users([(day(0), 1, 2, 3), (day(1), 4, 5, 6)])

    got = figures.activity_long(users)

    assert got.columns == ["day", "measure", "users"]
    assert sorted(got.rows()) == [
        (day(0), "DAU", 1), (day(0), "MAU", 3), (day(0), "WAU", 2),
        (day(1), "DAU", 4), (day(1), "MAU", 6), (day(1), "WAU", 5),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("value", "previous", "count", "ratio", "amount"),
    [
        (1234, 1000, "+234", "+23400.0 pp", "+234.00"),
        (0.25, 0.2, "0", "+5.0 pp", "+0.05"),
        (7, 10, "-3", "-300.0 pp", "-3.00"),
        (5, None, None, None, None),
    ],
)
def test_deltas(value, previous, count, ratio, amount) -> None:
    fig = figures.DayFigure(D, value, previous)
    assert figures.delta_count(fig) == count
    assert figures.delta_ratio(fig) == ratio
    assert figures.delta_amount(fig) == amount


def test_value_formats() -> None:
    assert figures.format_count(1234567) == "1,234,567"
    assert figures.format_ratio(0.4167) == "41.7%"
    assert figures.format_amount(1234.5, "EUR") == "1,234.50 EUR"
    assert figures.format_amount(41862.21, "EUR") == "41,862 EUR"
    assert {figures.format_count(None), figures.format_ratio(None)} == {"–"}


def test_csv_bytes_round_trip(frames) -> None:
    revenue = frames.revenue([(day(0), "EUR", 2, 30.0), (day(1), "USD", 1, 9.5)])
    back = pl.read_csv(io.BytesIO(figures.csv_bytes(revenue)), try_parse_dates=True)
    assert back.rows() == revenue.rows()
    assert back.columns == GOLD_REVENUE_DAILY.schema.names()


def test_activity_chart_encodes_day_measure_and_users(frames) -> None:
    users = frames.users([(day(0), 1, 2, 3), (day(1), 4, 5, 6)])

    spec = charts.activity_chart(users).to_dict()

    assert spec["encoding"]["color"]["field"] == "measure"
    assert spec["encoding"]["y"]["field"] == "users"
    assert spec["encoding"]["x"]["timeUnit"] == "utcyearmonthdate"
    (values,) = spec["datasets"].values()
    assert {(v["measure"], v["users"]) for v in values} == {
        ("DAU", 1),
        ("WAU", 2),
        ("MAU", 3),
        ("DAU", 4),
        ("WAU", 5),
        ("MAU", 6),
    }


def test_revenue_chart_has_one_panel_per_currency_with_its_own_scale(frames) -> None:
    revenue = frames.revenue(
        [(day(0), "USD", 1, 5.0), (day(0), "EUR", 2, 30.0), (day(1), "EUR", 1, 1.0)]
    )

    spec = charts.revenue_chart(revenue).to_dict()

    assert spec["resolve"]["scale"]["y"] == "independent"
    filters = [p["transform"][0]["filter"] for p in spec["vconcat"]]
    assert filters == ["(datum.currency === 'EUR')", "(datum.currency === 'USD')"]
    (values,) = spec["datasets"].values()
    assert sorted((v["currency"], v["revenue"]) for v in values) == [
        ("EUR", 1.0),
        ("EUR", 30.0),
        ("USD", 5.0),
    ]
    json.dumps(spec)  # serialisable as Streamlit sends it


def test_default_range_is_the_last_30_days_clipped_at_the_first() -> None:
    assert session.default_range((day(0), day(99))) == (day(70), day(99))
    assert session.default_range((day(0), day(9))) == (day(0), day(9))


def test_next_range_follows_the_default_until_the_user_picks() -> None:
    bounds, old, new = (day(0), day(40)), (day(10), day(39)), (day(11), day(40))

    assert session.next_range(None, None, new, bounds) == new
    assert session.next_range(old, old, new, bounds) == new  # untouched: follows
    assert session.next_range((day(2), day(8)), old, new, bounds) == (day(2), day(8))
    assert session.next_range((day(-5), day(3)), old, new, bounds) == (day(0), day(3))
    assert session.next_range((day(50), day(60)), old, new, bounds) == new  # no overlap
    assert session.next_range((day(4),), old, new, bounds) == (day(4),)  # half-done pick
    assert session.next_range((day(90),), old, new, bounds) == new


def test_format_age() -> None:
    assert [widgets.format_age(s) for s in (0, 12.9, 61, 3599, 3600, 90000, -3)] == [
        "0 s", "12 s", "1 min", "59 min", "1 h", "1 d", "0 s"
    ]  # fmt: skip


def test_freshness_line_turns_orange_after_five_minutes() -> None:
    now = datetime(2024, 6, 10, 14, 10, 0, tzinfo=UTC)
    fresh = Freshness(
        tables=(
            TableFreshness(BRONZE_EVENTS.name, now - timedelta(seconds=12), 7),
            TableFreshness(GOLD_DAILY_ACTIVE_USERS.name, now - timedelta(minutes=6), 3),
            TableFreshness(GOLD_REVENUE_DAILY.name, None, None),
        ),
        newest_event=datetime(2024, 6, 10, 14, 3, 2, tzinfo=UTC),
    )

    line = widgets.freshness_markdown(fresh, now)

    assert line == (
        f"🟠 {BRONZE_EVENTS.name} updated 12 s ago, newest event 14:03:02 UTC · "
        f":orange[{GOLD_DAILY_ACTIVE_USERS.name} updated 6 min ago] · "
        f"{GOLD_REVENUE_DAILY.name} not created yet"
    )
    calm = widgets.freshness_markdown(fresh, now - timedelta(minutes=2))
    assert calm.startswith("🟢") and ":orange[" not in calm
    empty = Freshness((TableFreshness(BRONZE_EVENTS.name, None, None),), None)
    assert widgets.freshness_markdown(empty, now) == f"⚪ {BRONZE_EVENTS.name} not created yet"


def test_event_time_shows_the_date_unless_it_is_today() -> None:
    now = datetime(2024, 6, 10, 23, 0, tzinfo=UTC)
    assert (
        widgets.format_event_time(datetime(2024, 6, 10, 1, 2, 3, tzinfo=UTC), now) == "01:02:03 UTC"
    )
    assert (
        widgets.format_event_time(datetime(2024, 6, 9, 1, 2, 3, tzinfo=UTC), now)
        == "2024-06-09 01:02:03 UTC"
    )


def test_period_figures_compare_the_range_with_as_many_days_before(frames) -> None:
    users = frames.users([(day(i), 10 * (i + 1), 0, 100) for i in range(6)])  # DAU 10..60
    scope = Scope(day(3), day(5))

    assert figures.period_figure(users, "dau", scope, "sum") == figures.DayFigure(day(5), 150, 60)
    assert figures.period_figure(users, "dau", scope, "mean").value == 50
    assert figures.period_figure(users, "dau", scope, "last") == figures.DayFigure(day(5), 60, 30)
    ratio = figures.period_figure(users, "dau", scope, "ratio", "mau")
    assert ratio == figures.DayFigure(day(5), 0.5, 0.2)
    assert figures.period_figure(users, "dau", Scope(day(0), day(2)), "sum").previous is None


def test_overlay_replaces_the_rows_of_one_day(frames) -> None:
    revenue = frames.revenue([(day(0), "EUR", 1, 1.0), (day(1), "EUR", 1, 1.0)])
    live = frames.revenue([(day(1), "EUR", 3, 9.0), (day(1), "USD", 1, 2.0)])

    got = figures.overlay(revenue, live, day(1))

    assert got.select("day", "currency", "orders").rows() == [
        (day(0), "EUR", 1), (day(1), "EUR", 3), (day(1), "USD", 1),
    ]  # fmt: skip
    assert figures.overlay(revenue, live.clear(), day(5)).equals(revenue)


def test_currency_totals_keep_currencies_apart(frames) -> None:
    revenue = frames.revenue(
        [(day(0), "EUR", 2, 10.0), (day(2), "EUR", 4, 30.0), (day(3), "USD", 1, 5.0)]
    )

    got = currency_totals(revenue, Scope(day(2), day(3)))

    assert got.select("currency", "orders", "revenue", "revenue_previous", "change").rows() == [
        ("EUR", 4, 30.0, 10.0, 2.0), ("USD", 1, 5.0, None, None),
    ]  # fmt: skip


def test_funnel_totals_sum_the_steps_over_the_days() -> None:
    funnel = pl.DataFrame({"viewed": [10, 30], "carted": [4, 6], "ordered": [1, 3]})

    got = funnel_totals(funnel)

    assert got["users"].to_list() == [40, 10, 4]
    assert got["share"].to_list() == [1.0, 0.25, 0.1]
    assert funnel_totals(funnel.clear())["share"].to_list() == [None, None, None]


def test_a_scope_knows_its_previous_period_and_its_filters() -> None:
    scope = Scope(day(10), day(16), currencies=("EUR",), segment=Segment(plans=("pro",)))

    assert (scope.previous().first, scope.previous().last) == (day(3), day(9))
    assert scope.describe_filters() == "currency EUR, plan pro"
    assert Scope(day(0), day(0)).describe_filters() == ""
    assert Segment().is_everyone and not Segment(countries=("DE",)).is_everyone
