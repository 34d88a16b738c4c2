"""The Overview's figures, charts, tables and day filter in Streamlit's real AppTest.

The lake is a real Delta lake in a temporary folder, filled by the `five_days` / `forty_days`
fixtures; every expected figure below is worked out by hand from those rows.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import polars as pl
import streamlit as st

from tests.dashboard.conftest import FIVE_DAYS_REVENUE, MakeApp


def test_metrics_show_the_latest_day_and_its_change_since_the_day_before(
    app: MakeApp, five_days: list[date], page
) -> None:
    at = page.open(app)

    assert page.metrics(at) == {
        "DAU": ("50", "+10"),
        "WAU": ("95", "+5"),
        "MAU": ("200", "0"),
        "Stickiness": ("25.0%", "+5.0 pp"),  # 50/200 against 40/200
        "Revenue (EUR)": ("250.00 EUR", "+150.00"),
        "Orders (EUR)": ("4", "-1"),
        "Avg order value (EUR)": ("62.50 EUR", "+42.50"),  # 250/4 against 100/5
        "Conversion": ("–", ""),  # no gold/funnel_daily in this lake
    }
    assert at.selectbox(key="overview_currency").value == "EUR"  # most orders in range
    assert at.selectbox(key="overview_currency").options == ["EUR", "USD"]
    assert "payload.user_id" in at.metric[0].help
    (notes,) = [e for e in at.main.expander if e.label == "ℹ️ How these figures are computed"]
    assert "no exchange rates" in notes.markdown[0].value
    assert "gold/daily_active_users" in notes.markdown[1].value  # the lineage: tables read


def test_currency_selector_shows_that_currency_and_a_day_without_its_orders_counts_zero(
    app: MakeApp, five_days: list[date], page
) -> None:
    at = app().run()
    at.selectbox(key="overview_currency").set_value("USD").run()

    page.assert_clean(at)
    shown = page.metrics(at)
    assert shown["Revenue (USD)"] == ("30.00 USD", "+30.00")  # day 3 had no USD order
    assert shown["Orders (USD)"] == ("2", "+2")
    assert shown["Avg order value (USD)"] == ("15.00 USD", "")  # no average on day 3
    assert shown["DAU"] == ("50", "+10")


def test_a_currency_absent_from_the_new_range_falls_back_to_the_main_one(
    app: MakeApp, five_days: list[date], page
) -> None:
    d = five_days
    at = app().run()
    at.selectbox(key="overview_currency").set_value("USD").run()
    at.date_input(key="date_range").set_value((d[0], d[1])).run()  # EUR orders only

    page.assert_clean(at)
    assert at.selectbox(key="overview_currency").value == "EUR"
    assert page.metrics(at)["Revenue (EUR)"] == ("20.00 EUR", "-10.00")


def test_charts_carry_the_series_of_the_range(app: MakeApp, five_days: list[date], page) -> None:
    d = five_days
    at = app().run()

    (activity_spec, activity_data), (revenue_spec, revenue_data) = page.charts(at)
    assert activity_spec["encoding"]["color"]["field"] == "measure"
    lines = pl.concat(activity_data)
    assert lines.height == 15  # 5 days x DAU, WAU, MAU
    dau = lines.filter(pl.col("measure") == "DAU").sort("day")
    assert dau["day"].to_list() == d
    assert dau["users"].to_list() == [10, 12, 15, 40, 50]
    mau = lines.filter(pl.col("measure") == "MAU").sort("day")
    assert mau["users"].to_list() == [100, 110, 150, 200, 200]

    assert len(revenue_spec["vconcat"]) == 2  # one panel per currency
    assert "EUR" in json.dumps(revenue_spec["vconcat"][0]["transform"])
    bars = pl.concat(revenue_data).sort("day", "currency")
    assert bars.select("day", "currency", "orders", "revenue").rows() == FIVE_DAYS_REVENUE


def test_tables_are_shown_and_offered_as_csv(app: MakeApp, five_days: list[date]) -> None:
    at = app().run()

    users, revenue = (df.value for df in at.dataframe)
    assert users["dau"].tolist() == [10, 12, 15, 40, 50]
    assert revenue["revenue"].tolist() == [30.0, 20.0, 60.0, 9.5, 100.0, 250.0, 30.0]
    buttons = {b.label: b.proto for b in at.get("download_button")}
    assert set(buttons) == {"⬇️ Active users (CSV)", "⬇️ Revenue (CSV)"}
    assert all(b.url.endswith(".csv") and not b.disabled for b in buttons.values())


def test_default_range_is_the_last_30_days_with_data(
    app: MakeApp, forty_days: list[date], page
) -> None:
    d = forty_days
    at = app().run()

    assert at.date_input(key="date_range").value == (d[10], d[39])
    assert page.metrics(at)["DAU"] == ("139", "+1")
    lines = pl.concat(page.charts(at)[0][1])
    assert (lines["day"].min(), lines["day"].max()) == (d[10], d[39])


def test_date_filter_changes_what_is_shown_and_persists(
    app: MakeApp, forty_days: list[date], page
) -> None:
    d = forty_days
    at = page.open(app, days=(d[5], d[20]))

    assert page.metrics(at)["DAU"] == ("120", "+1")
    assert page.metrics(at)["Revenue (EUR)"] == ("210.00 EUR", "+10.00")
    (_, activity), (_, revenue) = page.charts(at)
    assert pl.concat(activity)["day"].unique().sort().to_list() == d[5:21]
    assert pl.concat(revenue)["orders"].to_list() == list(range(6, 22))

    at.run()  # a rerun (and the live refresh) keeps the choice and the sidebar
    assert at.date_input(key="date_range").value == (d[5], d[20])
    assert page.metrics(at)["DAU"] == ("120", "+1")


def test_first_day_of_a_range_gets_its_delta_from_the_day_before_it(
    app: MakeApp, forty_days: list[date], page
) -> None:
    day = forty_days[7]
    at = page.open(app, days=(day, day))

    assert page.metrics(at)["DAU"] == ("107", "+1")
    assert page.metrics(at)["Orders (EUR)"] == ("8", "+1")


def test_a_day_the_lake_has_no_row_for_gives_no_delta(app: MakeApp, write_users, page) -> None:
    write_users([(date(2024, 3, 1), 10, 10, 10), (date(2024, 3, 3), 7, 15, 15)])

    at = app().run()

    assert page.metrics(at)["DAU"] == ("7", "")
    assert any("No orders in the selected days" in c.value for c in at.caption)


def test_range_follows_new_days_until_the_user_picks_one(
    app: MakeApp, forty_days: list[date], write_users, page
) -> None:
    d = forty_days
    day40, day41 = d[-1] + timedelta(days=1), d[-1] + timedelta(days=2)
    at = app().run()
    assert at.date_input(key="date_range").value == (d[10], d[39])

    write_users([(day40, 500, 600, 1100)])
    st.cache_data.clear()  # as if the few seconds of ttl had passed
    at.run()
    assert at.date_input(key="date_range").value == (d[11], day40)
    assert page.metrics(at)["DAU"] == ("500", "+361")

    at.date_input(key="date_range").set_value((d[2], d[8])).run()
    write_users([(day41, 5, 6, 7)])
    st.cache_data.clear()
    at.run()
    assert at.date_input(key="date_range").value == (d[2], d[8])
    assert page.metrics(at)["DAU"] == ("108", "+1")
