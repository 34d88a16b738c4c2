"""The app's frame and its unhappy states in Streamlit's real AppTest: an empty lake, events
without read models, freshness, navigation, live refresh, bad settings, unreadable tables.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from streamlit.proto.Metric_pb2 import Metric
from streamlit.testing.v1 import AppTest

from dashboard.app import PAGES
from eventlake.catalog import BRONZE_EVENTS, GOLD_DAILY_ACTIVE_USERS, GOLD_REVENUE_DAILY
from eventlake.settings import Settings
from tests.dashboard.conftest import MakeApp

Color, Direction = Metric.MetricColor, Metric.MetricDirection


def test_empty_lake_shows_the_friendly_message_and_no_traceback(app: MakeApp, page) -> None:
    at = app().run()

    page.assert_clean(at)
    assert "No data yet" in at.info[0].value
    assert "eventlake up" in at.info[0].value
    assert not at.metric and not at.get("vega_lite_chart")
    assert "No days with data yet" in at.sidebar.caption[0].value
    assert f"{GOLD_DAILY_ACTIVE_USERS.name} not created yet" in at.caption[0].value


def test_events_without_read_models_say_run_materialize(app: MakeApp, write_events, page) -> None:
    write_events(
        [datetime(2024, 3, 5, 14, 3, 2, tzinfo=UTC), datetime(2024, 3, 4, 9, 0, tzinfo=UTC)]
    )

    at = app().run()

    page.assert_clean(at)
    assert "eventlake materialize" in at.info[0].value
    assert f"Events are arriving in {BRONZE_EVENTS.name}" in at.info[0].value
    assert "newest event 2024-03-05 14:03:02 UTC" in at.caption[0].value


def test_freshness_line_names_each_table_and_the_newest_event(
    app: MakeApp, five_days: list[date], write_events
) -> None:
    write_events([datetime(2024, 3, 5, 23, 59, 58, tzinfo=UTC)])

    at = app().run()

    line = at.caption[0].value
    assert line.startswith("🟢")  # everything was written a moment ago
    for spec in (BRONZE_EVENTS, GOLD_DAILY_ACTIVE_USERS, GOLD_REVENUE_DAILY):
        assert f"{spec.name} updated " in line
    assert "newest event 2024-03-05 23:59:58 UTC" in line
    assert ":orange[" not in line


def test_a_flat_delta_has_no_arrow_and_no_color() -> None:
    def script() -> None:
        from dashboard.shell import widgets

        widgets.metric("flat", "1", "+0.0 pp", help="h")
        widgets.metric("up", "1", "+0.1 pp", help="h")

    flat, up = AppTest.from_function(script).run().metric

    assert (flat.proto.direction, flat.proto.color) == (Direction.NONE, Color.GRAY)
    assert (up.proto.direction, up.proto.color) == (Direction.UP, Color.GREEN)


def test_live_switch_off_still_renders(app: MakeApp, five_days: list[date], page) -> None:
    at = app().run()
    at.toggle(key="live_refresh").set_value(False).run()

    page.assert_clean(at)
    assert page.metrics(at)["DAU"] == ("50", "+10")


def test_navigation_runs_the_entry_on_every_page(app: MakeApp, five_days: list[date], page) -> None:
    at = app().run()
    at.switch_page("views/overview.py").run()
    at.run()

    page.assert_clean(at)
    assert at.sidebar.date_input  # the entry script ran before the page
    assert page.metrics(at)["DAU"] == ("50", "+10")
    assert all(not p.icon.startswith(":material") for p in PAGES)


@pytest.mark.usefixtures("five_days", "app")
def test_new_days_ask_for_one_full_rerun_not_a_loop(page) -> None:
    def script() -> None:
        import streamlit as st

        from dashboard.shell import session

        settings = session.settings()
        answers = [session.sidebar_outdated(settings), session.sidebar_outdated(settings)]
        session.date_range_sidebar(settings)
        answers.append(session.sidebar_outdated(settings))
        st.write(answers)

    at = AppTest.from_function(script).run()

    page.assert_clean(at)
    assert at.json[0].value == "[true, false, false]"


def test_bad_configuration_is_one_line_not_a_traceback(
    app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVENTLAKE_STORAGE_OPTIONS", "not json")

    at = app().run()

    assert not at.exception
    assert "EVENTLAKE_STORAGE_OPTIONS" in at.error[0].value


def _break_last_commit(settings: Settings, table: str) -> None:
    log = sorted((Path(settings.lake_root) / table / "_delta_log").glob("*.json"))
    log[-1].write_text("this is not a commit\n")


def test_unreadable_table_is_reported_not_raised(
    app: MakeApp, settings: Settings, write_users
) -> None:
    write_users([(date(2024, 3, 1), 1, 1, 1)])
    _break_last_commit(settings, GOLD_DAILY_ACTIVE_USERS.name)

    at = app().run()

    assert not at.exception
    assert at.error[0].value.startswith("The lake cannot be read")
    assert GOLD_DAILY_ACTIVE_USERS.name in at.error[0].value
    assert len(at.error[0].value.splitlines()) == 1


def test_unreadable_event_log_still_shows_the_figures(
    app: MakeApp, settings: Settings, five_days: list[date], write_events, page
) -> None:
    write_events([datetime(2024, 3, 5, 12, 0, tzinfo=UTC)])
    _break_last_commit(settings, BRONZE_EVENTS.name)

    at = app().run()

    assert not at.exception
    assert BRONZE_EVENTS.name in at.error[0].value
    assert page.metrics(at)["DAU"] == ("50", "+10")
