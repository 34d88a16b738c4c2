"""Overview page: active users and revenue of the latest day in range, their trends, freshness.

Run by `st.navigation` from `dashboard/app.py`, which has already drawn the sidebar. The figures
sit in a fragment that re-reads the lake every few seconds while live refresh is on.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
import streamlit as st

from dashboard import cache, charts, figures, queries, session, widgets
from eventlake.catalog import GOLD_DAILY_ACTIVE_USERS, GOLD_REVENUE_DAILY
from eventlake.errors import LakeError
from eventlake.settings import Settings

CURRENCY_KEY = "overview_currency"
NOTES = f"""
- **DAU** — distinct `payload.user_id` over the silver events dated that day (UTC calendar day).
  **WAU** counts the 7 days ending that day, **MAU** the 30 days; **stickiness** = DAU / MAU.
- **Revenue** — sum of `total_amount` over distinct `order_id`s of `order_placed` events: when
  several events carry one order id, the earliest by event time counts (ties: smallest
  `event_id`). **Orders** counts those orders; **avg order value** = revenue / orders.
- Amounts stay in their own currency: no exchange rates, no conversion, no cross-currency totals.
- Each delta compares with the day before; a day the read model has no row for shows none.
  Today's figures grow until the day ends.
- Read from `{GOLD_DAILY_ACTIVE_USERS.name}` and `{GOLD_REVENUE_DAILY.name}`, which
  `eventlake materialize` (or Dagster in the running stack) rebuilds from the event log.
"""

ACTIVITY = (
    figures.Measure(
        label="DAU",
        column="dau",
        value=figures.format_count,
        delta=figures.delta_count,
        help="Distinct payload.user_id over the day's silver events (UTC day).",
    ),
    figures.Measure(
        label="WAU",
        column="wau",
        value=figures.format_count,
        delta=figures.delta_count,
        help="Distinct users over the 7 days ending that day.",
    ),
    figures.Measure(
        label="MAU",
        column="mau",
        value=figures.format_count,
        delta=figures.delta_count,
        help="Distinct users over the 30 days ending that day.",
    ),
    figures.Measure(
        label="Stickiness",
        column="stickiness",
        value=figures.format_ratio,
        delta=figures.delta_ratio,
        help="DAU / MAU of that day; the delta is in percentage points.",
    ),
)


def revenue_measures(currency: str) -> tuple[figures.Measure, ...]:
    """Returns how revenue, orders and average order value in `currency` are shown."""

    def amount(value: float | None) -> str:
        return figures.format_amount(value, currency)

    return (
        figures.Measure(
            label=f"Revenue ({currency})",
            column="revenue",
            value=amount,
            delta=figures.delta_amount,
            help=f"Sum of total_amount over the day's distinct order_ids, in {currency} only.",
        ),
        figures.Measure(
            label=f"Orders ({currency})",
            column="orders",
            value=figures.format_count,
            delta=figures.delta_count,
            help=f"Distinct order_ids placed that day in {currency} (earliest event wins).",
        ),
        figures.Measure(
            label=f"Avg order value ({currency})",
            column="avg_order_value",
            value=amount,
            delta=figures.delta_amount,
            help=f"Revenue / orders of that day in {currency}.",
        ),
    )


def revenue_metrics(users: pl.DataFrame, revenue: pl.DataFrame, day: date, first: date) -> None:
    """Draws revenue, orders and average order value of `day` in one currency (selectable)."""
    options = figures.currencies(revenue.filter(pl.col("day") >= first))
    if not options:
        st.caption("💤 No orders in the selected days.")
        return
    pick, *slots = st.columns(4)
    # A choice missing from new options (other days) falls back to the first: Streamlit resets it.
    currency: str = pick.selectbox(
        "Currency",
        options,
        key=CURRENCY_KEY,
        help="Amounts are per currency (no FX conversion). Default: the most orders in range.",
    )
    daily = figures.currency_daily(revenue, users["day"], currency)
    widgets.metric_row(daily, day, first, revenue_measures(currency), slots)


def trend_charts(users: pl.DataFrame, revenue: pl.DataFrame, first: date, last: date) -> None:
    """Draws the DAU/WAU/MAU lines and the revenue bars per currency, each with a CSV button."""
    span = f"{first.isoformat()}_{last.isoformat()}"
    left, right = st.columns(2)
    with left:
        st.subheader("👥 Active users")
        st.altair_chart(charts.activity_chart(users), width="stretch")
        widgets.csv_download(
            "Active users (CSV)", users, f"daily_active_users_{span}.csv", key="csv_active_users"
        )
    with right:
        st.subheader("💶 Revenue by day and currency")
        if revenue.is_empty():
            st.caption("💤 No orders in the selected days.")
        else:
            st.altair_chart(charts.revenue_chart(revenue), width="stretch")
        widgets.csv_download(
            "Revenue (CSV)", revenue, f"revenue_daily_{span}.csv", key="csv_revenue"
        )


def freshness(settings: Settings, now: datetime) -> queries.Freshness | None:
    """Draws the freshness line; an unreadable log is reported without hiding the figures."""
    try:
        fresh = cache.freshness(settings)
    except LakeError as err:
        widgets.lake_error(err)
        return None
    widgets.freshness_line(fresh, now)
    return fresh


def overview(settings: Settings) -> None:
    """Draws everything below the title from a fresh read of the lake (the live fragment)."""
    now = datetime.now(UTC)
    try:
        if session.sidebar_outdated(settings):
            st.rerun()  # new days landed: redraw the sidebar's range too
        days = session.selected_days()
        if days is not None:
            first, last = days
            # One day earlier than shown: the first day's metrics still get a delta.
            users = cache.active_users(settings, first - timedelta(days=1), last)
            revenue = cache.revenue(settings, first - timedelta(days=1), last)
    except LakeError as err:
        widgets.lake_error(err)
        return
    fresh = freshness(settings, now)
    if days is None:
        widgets.no_data(fresh)
        return
    day = figures.latest_day(first, last, users, revenue)
    if day is None:
        st.info(f"No rows between {first} and {last}: pick other days in the sidebar.", icon="📅")
        return
    partial = " — today so far, partial until the day ends" if day == now.date() else ""
    st.markdown(f"##### {day:%A %d %B %Y} (UTC){partial}")
    st.caption(f"Each delta compares with {day - timedelta(days=1)}.")
    widgets.metric_row(users, day, first, ACTIVITY)
    revenue_metrics(users, revenue, day, first)
    shown_users = users.filter(pl.col("day") >= first)
    shown_revenue = revenue.filter(pl.col("day") >= first)
    trend_charts(shown_users, shown_revenue, first, last)
    with st.expander("🔢 Table data"):
        day_column = {"day": st.column_config.DateColumn("day", format="YYYY-MM-DD")}
        st.dataframe(shown_users, hide_index=True, column_config=day_column)
        st.dataframe(shown_revenue, hide_index=True, column_config=day_column)
    with st.expander("ℹ️ How these figures are computed"):
        st.markdown(NOTES)


def main() -> None:
    """Draws the page: the title, then the live fragment."""
    settings = session.settings()
    st.title("📊 Overview")
    st.fragment(overview, run_every=session.refresh_every())(settings)


main()
