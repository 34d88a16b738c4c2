"""Fixtures for the dashboard: hand-made gold and bronze rows in a real Delta lake, and the app.

Rows go through `eventlake.lake` with the catalog's schemas, exactly as the assets write them;
the app runs in Streamlit's real AppTest against that lake.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import polars as pl
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard.data import cache
from eventlake import lake
from eventlake.catalog import (
    BRONZE_EVENTS,
    GOLD_DAILY_ACTIVE_USERS,
    GOLD_REVENUE_DAILY,
    TableSpec,
)
from eventlake.settings import ENV_VARS, Settings

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the dashboard_lake builder
from dashboard_lake import SimulatedLake, build

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"

UserRow = tuple[date, int, int, int]  # day, dau, wau, mau
RevenueRow = tuple[date, str, int, float]  # day, currency, orders, revenue
MakeApp = Callable[[], AppTest]  # the `app` and `sim_app` fixtures
Put = Callable[[TableSpec, list[dict]], int]  # the `put` fixture
Row = TypeVar("Row")

FIRST_DAY = date(2024, 3, 1)
FIVE_DAYS = [FIRST_DAY + timedelta(days=i) for i in range(5)]
# The `five_days` fixture's rows: DAU 10, 12, 15, 40, 50; WAU 30, 35, 40, 90, 95; MAU 100,
# 110, 150, 200, 200; EUR orders every day, USD on days 2 and 4.
FIVE_DAYS_USERS: list[UserRow] = [
    (FIVE_DAYS[0], 10, 30, 100),
    (FIVE_DAYS[1], 12, 35, 110),
    (FIVE_DAYS[2], 15, 40, 150),
    (FIVE_DAYS[3], 40, 90, 200),
    (FIVE_DAYS[4], 50, 95, 200),
]
FIVE_DAYS_REVENUE: list[RevenueRow] = [
    (FIVE_DAYS[0], "EUR", 3, 30.0),
    (FIVE_DAYS[1], "EUR", 2, 20.0),
    (FIVE_DAYS[2], "EUR", 6, 60.0),
    (FIVE_DAYS[2], "USD", 1, 9.5),
    (FIVE_DAYS[3], "EUR", 5, 100.0),
    (FIVE_DAYS[4], "EUR", 4, 250.0),
    (FIVE_DAYS[4], "USD", 2, 30.0),
]


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    """Empties Streamlit's caches around each test: they are shared by every AppTest."""
    cache.clear()
    st.cache_resource.clear()
    yield
    cache.clear()
    st.cache_resource.clear()


def users_frame(rows: list[UserRow]) -> pl.DataFrame:
    """Returns gold/daily_active_users rows, stickiness = dau / mau."""
    frame = pl.DataFrame(rows, schema=["day", "dau", "wau", "mau"], orient="row").with_columns(
        stickiness=pl.col("dau") / pl.col("mau")
    )
    return frame.cast(dict(GOLD_DAILY_ACTIVE_USERS.schema))


def revenue_frame(rows: list[RevenueRow]) -> pl.DataFrame:
    """Returns gold/revenue_daily rows, avg_order_value = revenue / orders."""
    frame = pl.DataFrame(
        rows, schema=["day", "currency", "orders", "revenue"], orient="row"
    ).with_columns(avg_order_value=pl.col("revenue") / pl.col("orders"))
    return frame.cast(dict(GOLD_REVENUE_DAILY.schema))


def _day_writer(
    settings: Settings, spec: TableSpec, to_frame: Callable[[list[Row]], pl.DataFrame]
) -> Callable[[list[Row]], pl.DataFrame]:
    """Returns a writer of `spec` rows built by `to_frame` (replaces the days they cover)."""

    def write(rows: list[Row]) -> pl.DataFrame:
        frame = to_frame(rows)
        days = frame["day"]
        lake.replace_days(settings, spec, frame, days.min(), days.max())
        return frame

    return write


@pytest.fixture
def write_users(settings: Settings) -> Callable[[list[UserRow]], pl.DataFrame]:
    """Returns a writer of gold/daily_active_users rows (replaces the days it covers)."""
    return _day_writer(settings, GOLD_DAILY_ACTIVE_USERS, users_frame)


@pytest.fixture
def write_revenue(settings: Settings) -> Callable[[list[RevenueRow]], pl.DataFrame]:
    """Returns a writer of gold/revenue_daily rows (replaces the days it covers)."""
    return _day_writer(settings, GOLD_REVENUE_DAILY, revenue_frame)


def events_frame(times: list[datetime]) -> pl.DataFrame:
    """Returns one bronze/events row (a login) per event time."""
    rows = [
        {
            "event_id": f"e{i}",
            "event_type": "login",
            "schema_version": 1,
            "aggregate_id": f"u{i}",
            "event_time": t,
            "event_date": t.date(),
            "payload": f'{{"user_id": "u{i}"}}',
            "registered": True,
            "kafka_topic": "user_events",
            "kafka_partition": 0,
            "kafka_offset": i,
            "kafka_timestamp": t,
            "ingested_at": t,
        }
        for i, t in enumerate(times)
    ]
    return pl.DataFrame(rows).with_columns(
        pl.lit(None, pl.String).alias("metadata"), pl.lit(None, pl.String).alias("extra")
    )


@pytest.fixture
def write_events(settings: Settings) -> Callable[[list[datetime]], int]:
    """Returns an appender of bronze/events rows at the given event times; returns the version."""

    def write(times: list[datetime]) -> int:
        return lake.append(settings, BRONZE_EVENTS, events_frame(times))

    return write


@dataclass(frozen=True)
class Frames:
    """The row builders above, for tests that write through `eventlake.lake` themselves."""

    users: Callable[[list[UserRow]], pl.DataFrame] = users_frame
    revenue: Callable[[list[RevenueRow]], pl.DataFrame] = revenue_frame
    events: Callable[[list[datetime]], pl.DataFrame] = events_frame


@pytest.fixture
def frames() -> Frames:
    """Returns the builders of gold/daily_active_users, gold/revenue_daily and bronze rows."""
    return Frames()


def _app_factory(lake_root: str, monkeypatch: pytest.MonkeyPatch) -> MakeApp:
    for var in ENV_VARS.values():
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("EVENTLAKE_LAKE_ROOT", lake_root)
    monkeypatch.setenv("EVENTLAKE_KAFKA_BOOTSTRAP", "127.0.0.1:9")  # no broker: lag unknown

    def make() -> AppTest:
        return AppTest.from_file(APP, default_timeout=60)

    return make


@pytest.fixture
def app(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> MakeApp:
    """Returns a factory of AppTests of `dashboard/app.py` whose environment points at the lake."""
    return _app_factory(settings.lake_root, monkeypatch)


@pytest.fixture(scope="session")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> SimulatedLake:
    """A lake filled by the simulator through the ingester's decoder and materialized by
    Dagster (built once per session; tests must not change it)."""
    root = tmp_path_factory.mktemp("simulated") / "lake"
    return build(Settings.from_env(env={}, lake_root=str(root)))


@pytest.fixture
def sim_app(simulated: SimulatedLake, monkeypatch: pytest.MonkeyPatch) -> MakeApp:
    """Returns a factory of AppTests of the app on the simulated lake."""
    return _app_factory(simulated.settings.lake_root, monkeypatch)


def table_rows(spec: TableSpec, rows: list[dict]) -> pl.DataFrame:
    """Returns `rows` (dicts; missing columns null) as a frame of the table's schema."""
    return pl.DataFrame([{c: r.get(c) for c in spec.schema} for r in rows], schema=spec.schema)


@pytest.fixture
def put(settings: Settings) -> Put:
    """Returns an appender of hand-made rows to any table of the catalog (returns the version)."""

    def write(spec: TableSpec, rows: list[dict]) -> int:
        return lake.append(settings, spec, table_rows(spec, rows))

    return write


@pytest.fixture
def five_days(write_users, write_revenue) -> list[date]:
    """Returns days 0-4, written with the hand-picked FIVE_DAYS_USERS and FIVE_DAYS_REVENUE."""
    write_users(FIVE_DAYS_USERS)
    write_revenue(FIVE_DAYS_REVENUE)
    return list(FIVE_DAYS)


@pytest.fixture
def forty_days(write_users, write_revenue) -> list[date]:
    """Returns days 0-39, written with figures that grow by one a day.

    Day i: DAU 100 + i, WAU 300 + i, MAU 1000 + i; i + 1 EUR orders of 10.00 each.
    """
    d = [FIRST_DAY + timedelta(days=i) for i in range(40)]
    write_users([(d[i], 100 + i, 300 + i, 1000 + i) for i in range(40)])
    write_revenue([(d[i], "EUR", i + 1, 10.0 * (i + 1)) for i in range(40)])
    return d


class Page:
    """Reads what one AppTest run shows."""

    @staticmethod
    def metrics(at: AppTest) -> dict[str, tuple[str, str]]:
        """Returns label -> (value, delta) of every st.metric ("" when it has no delta)."""
        return {m.label: (m.value, m.delta) for m in at.metric}

    @staticmethod
    def charts(at: AppTest) -> list[tuple[dict, list[pl.DataFrame]]]:
        """Returns each vega-lite chart's spec and the Arrow datasets Streamlit ships with it."""
        return [
            (
                json.loads(el.proto.spec),
                [pl.read_ipc_stream(io.BytesIO(d.data.data)) for d in el.proto.datasets],
            )
            for el in at.get("vega_lite_chart")
        ]

    @staticmethod
    def table(at: AppTest, name: str) -> pl.DataFrame:
        """Returns the table whose CSV button reads `name` (each table has its button, drawn
        right after it; the restatements' list is left out)."""
        labels = [b.label for b in at.get("download_button") if "Restatements" not in b.label]
        return pl.from_pandas(at.dataframe[labels.index(f"⬇️ {name} (CSV)")].value)

    @staticmethod
    def open(
        make: MakeApp, script: str | None = None, days: tuple[date, date] | None = None
    ) -> AppTest:
        """Runs the app, goes to `views/<script>` and picks `days` when given; fails on an
        exception or an error box on the page."""
        at = make().run()
        if script is not None:
            at.switch_page(f"views/{script}").run()
        if days is not None:
            at.date_input(key="date_range").set_value(days).run()
        Page.assert_clean(at)
        return at

    @staticmethod
    def assert_clean(at: AppTest) -> None:
        """Fails on an exception or an error box on the page."""
        assert [e.value for e in at.exception] == []
        assert [e.value for e in at.error] == []


@pytest.fixture
def page() -> type[Page]:
    """Returns the reader of what an AppTest run shows."""
    return Page
