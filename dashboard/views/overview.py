"""Overview page: active users, revenue, orders and conversion of the latest day in range (or of
the whole range), each beside the period before, with their trends and freshness.

Run by `st.navigation` from `dashboard/app.py`, which has already drawn the sidebar. Today's
figures come live from the event log; finished days from the gold tables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta

import polars as pl
import streamlit as st

from dashboard.data import cache
from dashboard.shapes import charts, figures, restated
from dashboard.shell import frame, widgets
from dashboard.views.parts.overview import (
    ACTIVITY,
    CONVERSION,
    Loaded,
    load,
    period_figures,
    revenue_measures,
    source_lines,
)
from eventlake.catalog import (
    BRONZE_EVENTS,
    GOLD_DAILY_ACTIVE_USERS,
    GOLD_FUNNEL_DAILY,
    GOLD_REVENUE_DAILY,
    SILVER_ORDERS,
    SILVER_PRODUCT_EVENTS,
    SILVER_USER_ACTIVITY_DAILY,
    SILVER_USERS,
)

CURRENCY_KEY = "overview_currency"
COMPARE_KEY = "overview_compare"
DAY, PERIOD = "the day before", "the previous period"
INFO = frame.PageInfo(
    title="📊 Overview",
    key="overview",
    tables=(GOLD_DAILY_ACTIVE_USERS, GOLD_REVENUE_DAILY, GOLD_FUNNEL_DAILY),
    notes=f"""
- **DAU** — distinct `payload.user_id` over the silver events dated that day (UTC calendar day).
  **WAU** counts the 7 days ending that day, **MAU** the 30 days; **stickiness** = DAU / MAU.
- **Revenue** — sum of `total_amount` over distinct `order_id`s of `order_placed` events: when
  several events carry one order id, the earliest by event time counts (ties: smallest
  `event_id`). **Orders** counts those orders; **avg order value** = revenue / orders.
- Amounts stay in their own currency: no exchange rates, no conversion, no cross-currency totals.
- **Conversion** — of the users who viewed a product (`product_view`) that day, the share who
  then added to cart (`add_to_cart`) and placed an order within 24 h (`{GOLD_FUNNEL_DAILY.name}`).
- **Compare with the day before**: the latest day in range against the day before it; a day the
  read model has no row for shows no delta. **With the previous period**: the selected days
  against as many days just before; DAU and stickiness are daily means, WAU and MAU the value
  on the last day, revenue and orders sums, conversion = ordered / viewed over the period.
- **Today, live**: events and distinct users per minute of the last hour and per hour of
  today (tumbling windows; gold/traffic_hourly holds the hours of past days), and the last 60
  minutes as one figure (a window that moves with the clock), with the orders counted in it
  and their revenue per currency. Shown for everyone (no segment filter).
- **Today** is computed live from `{BRONZE_EVENTS.name}` every few seconds (the same projections, run
  on today's log rows); earlier days come from the gold tables, which `eventlake materialize`
  (or Dagster in the running stack) rebuilds from the event log.
""",
    filters=f"Currency applies to revenue, orders and average order value. Plan, signup source "
    f"and country apply to every figure, rebuilt from `{SILVER_USER_ACTIVITY_DAILY.name}`, "
    f"`{SILVER_ORDERS.name}` and `{SILVER_PRODUCT_EVENTS.name}` of the users "
    f"`{SILVER_USERS.name}` gives those attributes.",
)


def _marks(
    ctx: frame.Context,
    table: str,
    day: date,
    columns: Sequence[str],
    key: Mapping[str, object] | None = None,
) -> dict[str, list[str]]:
    """Returns the restatements of each column's figure of `day`, in words."""
    return {c: restated.for_figure(ctx.restated, table, day, c, key) for c in columns}


def _day_metrics(ctx: frame.Context, data: Loaded, day: date) -> None:
    """Draws activity, money and conversion of `day`, each against the day before."""
    users_marks = _marks(
        ctx, GOLD_DAILY_ACTIVE_USERS.name, day, ("dau", "wau", "mau", "stickiness")
    )
    widgets.metric_row(
        data.users, day, ctx.scope.first, ACTIVITY, marks=users_marks, source=data.source(day)
    )
    options = figures.currencies(data.revenue.filter(pl.col("day") >= ctx.scope.first))
    pick = st.columns(4)[0]  # the picker on its own row: four wide metrics below
    slots = st.columns(4)
    if options:
        currency: str = pick.selectbox(
            "Currency",
            options,
            key=CURRENCY_KEY,
            help="Amounts are per currency (no FX conversion). Default: the most orders in range.",
        )
        daily = figures.currency_daily(data.revenue, data.users["day"], currency)
        marks = _marks(
            ctx, GOLD_REVENUE_DAILY.name, day, ("revenue", "orders", "avg_order_value"),
            {"currency": currency},
        )  # fmt: skip
        widgets.metric_row(
            daily, day, ctx.scope.first, revenue_measures(currency), slots[:3],
            marks=marks, source=data.source(day),
        )  # fmt: skip
    else:
        pick.caption("💤 No orders in the selected days.")
    funnel_marks = _marks(ctx, GOLD_FUNNEL_DAILY.name, day, ("view_to_order_rate",))
    widgets.metric_row(
        data.funnel, day, ctx.scope.first, (CONVERSION,), slots[3:], marks=funnel_marks,
        source=data.source(day),
    )  # fmt: skip


def trend_charts(data: Loaded, ctx: frame.Context) -> None:
    """Draws the DAU/WAU/MAU lines and the revenue bars per currency, each with a CSV button."""
    first, last = ctx.scope.first, ctx.scope.last
    span = f"{first.isoformat()}_{last.isoformat()}"
    users = data.users.filter(pl.col("day") >= first)
    revenue = data.revenue.filter(pl.col("day") >= first)
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
    with st.expander("🔢 Table data"):
        day_column = {"day": st.column_config.DateColumn("day", format="YYYY-MM-DD")}
        st.dataframe(users, hide_index=True, column_config=day_column)
        st.dataframe(revenue, hide_index=True, column_config=day_column)


def today_windows(ctx: frame.Context) -> None:
    """Draws today minute by minute (the last hour) and hour by hour, and the last 60 minutes."""
    found = cache.today_windows(ctx.settings, ctx.scope)
    st.subheader("⏱ Today, live")
    cells = st.columns(3)
    cells[0].metric("Events, last 60 minutes", f"{found.last_hour_events:,}")
    cells[1].metric("Active users, last 60 minutes", f"{found.last_hour_users:,}")
    money = ", ".join(
        f"{revenue:,.2f} {currency} ({orders:,} orders)"
        for currency, orders, revenue in found.last_hour_revenue.iter_rows()
    )
    cells[2].metric("Revenue, last 60 minutes", money or "no orders")
    left, right = st.columns(2)
    with left:
        st.altair_chart(
            charts.intraday_bars(found.minutes, title="minute (UTC)", time_format="%H:%M"),
            width="stretch",
        )
    with right:
        st.altair_chart(
            charts.intraday_bars(found.hours, title="hour (UTC)", time_format="%H:00"),
            width="stretch",
        )
    st.caption(
        f"From today's event log as of {found.now:%H:%M:%S} UTC: each bar one minute of the last "
        "hour (left) or one hour of today (right); the last 60 minutes move with the clock."
    )


def body(ctx: frame.Context) -> None:
    """Draws the figures of the latest day (or period) in range, then the trends."""
    compare = st.radio(
        "Compare with", (DAY, PERIOD), key=COMPARE_KEY, horizontal=True,
        help="The latest day against the day before, or the selected days against as many "
        "days just before them.",
    )  # fmt: skip
    data = load(ctx, period=compare == PERIOD)
    day = figures.latest_day(ctx.scope.first, ctx.scope.last, data.users, data.revenue)
    if day is None:
        st.info(
            f"No rows between {ctx.scope.first} and {ctx.scope.last}: pick other days in the "
            "sidebar.",
            icon="📅",
        )
        return
    if compare == PERIOD:
        before = ctx.scope.previous()
        st.markdown(f"##### {ctx.scope.first} – {ctx.scope.last} ({ctx.scope.days} days, UTC)")
        st.caption(f"Each delta compares with {before.first} – {before.last}.")
        period_figures(ctx, data, CURRENCY_KEY)
    else:
        partial = " — today so far, live from the event log" if data.is_live(day) else ""
        st.markdown(f"##### {day:%A %d %B %Y} (UTC){partial}")
        st.caption(f"Each delta compares with {day - timedelta(days=1)}.")
        _day_metrics(ctx, data, day)
    for line in source_lines(data, ctx.now):
        st.caption(line)
    if data.is_live(ctx.scope.last) and ctx.scope.segment.is_everyone:
        today_windows(ctx)
    trend_charts(data, ctx)


frame.show(INFO, body)
