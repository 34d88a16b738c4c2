"""Live figures and the "as of" control, in Streamlit's real AppTest on hand-made rows.

Live: today's figures come from today's bronze/events rows, not from a stale gold row. As of:
a past table version shows the figures as they were, without the restatements made since.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import polars as pl
import pytest

from dashboard.data import live as live_data
from dashboard.data.scope import EVERYONE, Scope, Segment
from dashboard.shapes import restated
from eventlake import lake
from eventlake.catalog import AUDIT_RESTATEMENTS, BRONZE_EVENTS, GOLD_DAILY_ACTIVE_USERS
from eventlake.settings import Settings
from tests.dashboard.conftest import MakeApp


def _today_at(hour: int) -> datetime:
    """A moment of today (UTC) no later than now: the log cannot hold the future."""
    now = datetime.now(UTC)
    return min(datetime.combine(now.date(), time(hour), UTC), now - timedelta(seconds=1))


def test_today_comes_live_from_the_log_not_from_a_stale_gold_row(
    app: MakeApp, write_users, settings: Settings, frames, page
) -> None:
    today = datetime.now(UTC).date()
    write_users([(today - timedelta(days=1), 4, 4, 4), (today, 1, 1, 1)])  # gold: 1 user today
    events = frames.events([_today_at(0), _today_at(0), _today_at(0)])  # u0, u1, u2 log in
    version = lake.append(settings, BRONZE_EVENTS, events)

    at = app().run()

    page.assert_clean(at)
    assert page.metrics(at)["DAU"] == ("3", "-1")
    assert any("today so far, live from the event log" in m.value for m in at.main.markdown)
    live = [c.value for c in at.caption if c.value.startswith("⚡")]
    assert live and f"live from bronze/events version {version}, 3 events" in live[0]


def test_live_figures_keep_one_copy_of_each_event_and_registered_types_only(
    settings: Settings, frames
) -> None:
    today = datetime.now(UTC).date()
    moment = _today_at(0)
    rows = frames.events([moment, moment, moment])
    copy = rows.head(1).with_columns(pl.col("kafka_offset") + 100)  # re-delivered later
    stranger = rows.head(1).with_columns(pl.col("event_id") + "x", registered=pl.lit(False))
    lake.append(settings, BRONZE_EVENTS, rows.vstack(copy).vstack(stranger))

    events, _ = live_data.day_events(settings, today)

    assert events.height == 3
    empty = live_data.past_last_active(settings, Scope(today, today))
    no_orders = live_data.past_order_ids(settings, Scope(today, today))
    live = live_data.live_day(settings, today, EVERYONE, empty, no_orders)
    assert live.users.row(0, named=True) == {
        "day": today, "dau": 3, "wau": 3, "mau": 3, "stickiness": 1.0,
    }  # fmt: skip
    nobody = Segment(plans=("enterprise",))
    assert live_data.live_day(settings, today, nobody, empty, no_orders).users["dau"][0] == 0


@pytest.fixture
def restated_lake(write_users, put) -> tuple[int, date]:
    """DAU 50 on the last day in version v, 55 in the next one, with the restatement recorded.

    Returns v and the last day.
    """
    days = [date(2024, 3, 1) + timedelta(days=i) for i in range(3)]
    write_users([(days[0], 30, 30, 30), (days[1], 40, 40, 40), (days[2], 50, 50, 50)])
    before = write_users([(days[2], 55, 55, 55)])  # a late event: one more user on day 2
    assert before.height == 1
    put(AUDIT_RESTATEMENTS, [{
        "restated_at": datetime.now(UTC), "table": GOLD_DAILY_ACTIVE_USERS.name, "day": days[2],
        "key": "{}", "column": "dau", "old_value": 50.0, "new_value": 55.0, "old_version": 1,
        "new_version": 2, "cause": "late_events", "run_id": "run-7",
    }])  # fmt: skip
    return 1, days[2]


def test_latest_figures_are_marked_restated(app: MakeApp, restated_lake, page) -> None:
    at = app().run()

    page.assert_clean(at)
    assert page.metrics(at)["DAU ✏️"] == ("55", "+15")
    (dau,) = [m for m in at.metric if m.label == "DAU ✏️"]
    assert "dau 50 → 55" in dau.help and "late events arrived (run run-7)" in dau.help
    assert not at.warning  # no as-of banner


def test_as_of_a_table_version_shows_the_figures_then_without_later_restatements(
    app: MakeApp, restated_lake, settings: Settings, page
) -> None:
    version, _ = restated_lake
    at = app().run()
    at.radio(key="asof_mode").set_value("A table version").run()
    at.selectbox(key="asof_table").set_value(GOLD_DAILY_ACTIVE_USERS.name).run()
    at.number_input(key="asof_version").set_value(version).run()

    page.assert_clean(at)
    assert page.metrics(at)["DAU"] == ("50", "+10")  # unmarked: restated after that moment
    banner = at.warning[0].value
    assert banner.startswith(f"**As of {GOLD_DAILY_ACTIVE_USERS.name} version {version}")
    assert f"`{GOLD_DAILY_ACTIVE_USERS.name}` v{version}" in banner
    assert at.sidebar.toggle(key="live_refresh").disabled

    at.radio(key="asof_mode").set_value("Latest").run()
    assert page.metrics(at)["DAU ✏️"] == ("55", "+15")


def test_as_of_a_moment_before_the_table_existed_shows_no_data(
    app: MakeApp, restated_lake, page
) -> None:
    at = app().run()
    at.radio(key="asof_mode").set_value("A moment").run()
    at.date_input(key="asof_day").set_value(date(2020, 1, 1)).run()

    page.assert_clean(at)
    assert not at.metric
    assert "No data as of 2020-01-01 00:00 UTC" in at.info[0].value


def test_restatement_key_json_matches_the_row_it_names() -> None:
    rows = pl.DataFrame(
        {"day": [date(2024, 1, 1)] * 2, "currency": ["EUR", "USD"], "revenue": [1.0, 2.0]}
    )
    ledger = pl.DataFrame([{
        "restated_at": datetime(2024, 1, 2, tzinfo=UTC), "table": "t", "day": date(2024, 1, 1),
        "key": json.dumps({"currency": "USD"}), "column": "revenue", "old_value": None,
        "new_value": 2.0, "old_version": 1, "new_version": 2, "cause": "replay", "run_id": "r",
    }], schema=AUDIT_RESTATEMENTS.schema)  # fmt: skip

    marked = restated.mark_rows(rows, ledger, "t", key_columns=("currency",))

    assert marked["restated"].to_list() == [
        None,
        "✏️ revenue – → 2 on 2024-01-02 00:00 UTC: the log was replayed (run r)",
    ]
    assert restated.for_figure(ledger, "t", date(2024, 1, 1), "revenue", {"currency": "EUR"}) == []
    assert restated.mark_rows(rows, ledger, "other")["restated"].null_count() == 2


def test_an_unreadable_ledger_is_reported_and_the_figures_still_shown(
    app: MakeApp, restated_lake, settings: Settings, page
) -> None:
    log = sorted((Path(settings.lake_root) / AUDIT_RESTATEMENTS.name / "_delta_log").glob("*.json"))
    log[-1].write_text("not a commit\n")

    at = app().run()

    assert not at.exception
    assert AUDIT_RESTATEMENTS.name in at.error[0].value
    assert page.metrics(at)["DAU"] == ("55", "+15")  # unmarked: the ledger could not be read
