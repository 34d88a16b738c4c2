"""Every page on a simulated lake (simulator -> ingester's decoder -> bronze -> Dagster -> gold),
in Streamlit's real AppTest: what each page shows against the lake, read here with plain Polars.

The default range is the last 30 days with data, today included: today's events were produced
"now", so the Overview and Revenue pages show today live from the log, which must agree with
the gold rows materialized from the same events.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
from dashboard_lake import SimulatedLake
from polars.testing import assert_frame_equal

from dashboard.app import PAGES
from dashboard.data import intraday, overview
from dashboard.data import live as live_data
from dashboard.data.scope import EVERYONE, Scope, Segment
from dashboard.shapes import figures
from eventlake import lake
from eventlake.catalog import (
    BRONZE_DEAD_LETTERS,
    BRONZE_EVENTS,
    BRONZE_INGEST_BATCHES,
    GOLD_CUSTOMER_RFM,
    GOLD_DAILY_ACTIVE_USERS,
    GOLD_FUNNEL_DAILY,
    GOLD_LIFECYCLE_DAILY,
    GOLD_PRODUCT_PERFORMANCE,
    GOLD_REVENUE_DAILY,
    GOLD_SESSIONS_DAILY,
    SILVER_ORDERS,
    SILVER_USER_ACTIVITY_DAILY,
    SILVER_USERS,
    TableSpec,
)
from tests.dashboard.conftest import MakeApp


def gold(sim: SimulatedLake, spec: TableSpec, first: date | None = None) -> pl.DataFrame:
    """The table as the lake holds it, from `first` on (its day column) when given."""
    frame = lake.scan(sim.settings, spec)
    if first is not None:
        frame = frame.filter(pl.col(spec.day_column or "day") >= first)
    return frame.collect()


def count(value: object) -> str:
    return f"{round(float(value)):,}"  # type: ignore[arg-type]


def default_first(sim: SimulatedLake) -> date:
    """The first day of the sidebar's default range: 30 days ending on the last day."""
    return max(sim.first, sim.last - timedelta(days=29))


def test_the_lake_holds_today_and_live_figures_equal_gold(simulated: SimulatedLake) -> None:
    today = datetime.now(UTC).date()
    assert simulated.last == today
    s = simulated.settings
    live = live_data.live_day(
        s, today, EVERYONE,
        live_data.past_last_active(s, Scope(today, today)), live_data.past_order_ids(s, Scope(today, today)),
    )  # fmt: skip
    assert live.events > 0
    for frame, spec in (
        (live.users, GOLD_DAILY_ACTIVE_USERS),
        (live.revenue, GOLD_REVENUE_DAILY),
        (live.funnel, GOLD_FUNNEL_DAILY),
    ):
        stored = lake.scan_days(s, spec, today, today).collect()
        assert stored.height
        keys = [c for c in ("day", "currency") if c in stored.columns]
        assert_frame_equal(frame.sort(keys), stored.sort(keys))
    orders_only = live_data.live_day(
        s, today, EVERYONE, None, live_data.past_order_ids(s, Scope(today, today))
    )  # what the Revenue page asks for: today's orders alone
    assert_frame_equal(orders_only.revenue.sort("currency"), live.revenue.sort("currency"))
    assert orders_only.users.is_empty() and orders_only.events < live.events


# page script -> (metric label, its value computed from the lake)
Expect = Callable[[SimulatedLake], str]
EXPECTED: dict[str, tuple[str, Expect]] = {
    "overview.py": (
        "DAU", lambda sim: count(gold(sim, GOLD_DAILY_ACTIVE_USERS, sim.last)["dau"][0])
    ),
    "funnel.py": ("Viewed", lambda sim: count(gold(sim, GOLD_FUNNEL_DAILY, default_first(sim))["viewed"].sum())),
    "sessions.py": ("Sessions", lambda sim: count(gold(sim, GOLD_SESSIONS_DAILY, default_first(sim))["sessions"].sum())),
    "customers.py": ("Customers", lambda sim: count(gold(sim, GOLD_CUSTOMER_RFM).height)),
    "products.py": ("Product views", lambda sim: count(gold(sim, GOLD_PRODUCT_PERFORMANCE, default_first(sim))["views"].sum())),
    "lifecycle.py": ("Active", lambda sim: count(gold(sim, GOLD_LIFECYCLE_DAILY, sim.last)["active"][0])),
    "pipeline.py": ("Events, last 60 min", lambda sim: count(gold(sim, BRONZE_INGEST_BATCHES)["events"].sum())),
}  # fmt: skip


@pytest.mark.parametrize("entry", PAGES, ids=[p.script for p in PAGES])
def test_every_page_renders_its_figures_from_the_lake(
    sim_app: MakeApp, simulated: SimulatedLake, entry, page
) -> None:
    at = sim_app().run()
    at.switch_page(f"views/{entry.script}").run()

    page.assert_clean(at)
    assert at.title[0].value.endswith(entry.title)
    lineage = [e for e in at.main.expander if e.label == "ℹ️ How these figures are computed"]
    assert len(lineage) == 1 and "**Reads:**" in lineage[0].markdown[1].value
    if entry.script in EXPECTED:
        label, expected = EXPECTED[entry.script]
        assert page.metrics(at)[label][0] == expected(simulated)
    if entry.script not in ("explorer.py",):
        assert at.get("vega_lite_chart"), "a page of figures draws charts"
        buttons = [b for b in at.get("download_button") if b.label.endswith("(CSV)")]
        assert len(buttons) >= len(at.dataframe) > 0  # every table shown has its CSV


def test_revenue_page_totals_equal_the_gold_rows(
    sim_app: MakeApp, simulated: SimulatedLake, page
) -> None:
    at = sim_app().run()
    at.switch_page("views/revenue.py").run()

    rows = gold(simulated, GOLD_REVENUE_DAILY, default_first(simulated))
    totals = rows.group_by("currency").agg(pl.col("revenue").sum())
    shown = page.metrics(at)
    for currency, revenue in totals.iter_rows():
        assert shown[f"Revenue ({currency})"][0] == figures.format_amount(revenue, currency)


def test_a_segment_filter_recomputes_figures_and_persists_across_pages(
    sim_app: MakeApp, simulated: SimulatedLake, page
) -> None:
    s, day = simulated.settings, simulated.last
    users = lake.scan(s, SILVER_USERS).filter(pl.col("plan") == "free").select("user_id")
    expected = (
        lake.scan_days(s, SILVER_USER_ACTIVITY_DAILY, day, day)
        .join(users, on="user_id", how="semi")
        .select(pl.len())
        .collect()
        .item()
    )
    at = sim_app().run()
    everyone = page.metrics(at)["DAU"][0]
    at.multiselect(key="filter_plan").set_value(["free"]).run()

    page.assert_clean(at)
    assert page.metrics(at)["DAU"][0] == f"{expected:,}" != everyone
    at.switch_page("views/funnel.py").run()
    assert at.multiselect(key="filter_plan").value == ["free"]
    assert any(c.value.startswith("🔎 Filters: plan free.") for c in at.caption)
    page.assert_clean(at)


def test_segment_revenue_counts_the_orders_of_those_users(simulated: SimulatedLake) -> None:
    s, first, last = simulated.settings, simulated.first, simulated.last
    counted = (
        lake.scan(s, SILVER_ORDERS)
        .sort("event_time", "event_id")
        .unique("order_id", keep="first", maintain_order=True)
        .join(lake.scan(s, SILVER_USERS).select("user_id", "plan"), on="user_id", how="left")
        .collect()
    )
    plans = counted["plan"].drop_nulls().unique().to_list()
    assert plans and counted["plan"].null_count()  # some orderers never signed up
    for plan in plans:
        got = overview.revenue(s, Scope(first, last, segment=Segment(plans=(plan,))))
        mine = counted.filter(pl.col("plan") == plan)
        expected = mine.group_by(day="event_date", currency="currency").agg(
            orders=pl.len(), revenue=pl.col("total_amount").sum()
        )
        assert sorted(got.select("day", "currency", "orders").rows()) == sorted(
            expected.select("day", "currency", "orders").rows()
        )
    everyone = overview.revenue(s, Scope(first, last))["orders"].sum()
    assert everyone == counted.height


def test_dead_letters_on_the_pipeline_page_are_those_of_the_lake(
    sim_app: MakeApp, simulated: SimulatedLake, page
) -> None:
    at = sim_app().run()
    at.switch_page("views/pipeline.py").run()

    expected = gold(simulated, BRONZE_DEAD_LETTERS).group_by("error_code").agg(pl.len())
    codes = page.table(at, "Dead letters by code")
    assert dict(codes.select("error_code", "rows").rows()) == dict(expected.rows())
    assert sum(dict(expected.rows()).values()) == simulated.dead_letters


def test_explorer_history_of_a_recent_user_is_their_log(
    sim_app: MakeApp, simulated: SimulatedLake, page
) -> None:
    at = sim_app().run()
    at.switch_page("views/explorer.py").run()
    at.button(key="explorer_recent").click().run()

    user = at.text_input(key="explorer_aggregate_id").value
    assert user
    log = lake.scan(simulated.settings, BRONZE_EVENTS)
    shown_days = pl.col("event_date") >= default_first(simulated)  # the sidebar's range
    events = log.filter(pl.col("aggregate_id") == user, shown_days).collect()
    page.assert_clean(at)
    assert page.metrics(at)["Events"] == (f"{events.height:,}", "")


def test_overview_shows_today_by_minute_and_the_last_hour(
    sim_app: MakeApp, simulated: SimulatedLake, page
) -> None:
    at = sim_app().run()  # the Overview: the default range ends today, live
    page.assert_clean(at)
    caption = next(c.value for c in at.caption if c.value.startswith("From today's event log"))
    clock = datetime.strptime(caption.split(" as of ")[1][:8], "%H:%M:%S").time()
    now = datetime.combine(simulated.last, clock, UTC)
    events, _ = live_data.day_events(simulated.settings, simulated.last)
    past = live_data.past_order_ids(simulated.settings, Scope(last=simulated.last))
    expected = intraday.windows(events, past, now.replace(microsecond=999_999))

    shown = page.metrics(at)
    assert shown["Events, last 60 minutes"][0] == f"{expected.last_hour_events:,}"
    assert shown["Active users, last 60 minutes"][0] == f"{expected.last_hour_users:,}"
    assert expected.hours["events"].sum() > 0  # the simulated lake holds events of today
    minute_bars = [data for spec, data in page.charts(at)
                   if spec.get("encoding", {}).get("x", {}).get("title") == "minute (UTC)"]  # fmt: skip
    (minutes,) = minute_bars[0]
    assert minutes["events"].sum() == expected.minutes["events"].sum()
    assert minutes.height == 60
