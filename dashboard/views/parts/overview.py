"""The Overview's data and figures: gold rows of finished days, today's rows live from the log,
and how each measure is shown (per day, or over a period against the period before)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

import polars as pl
import streamlit as st

from dashboard.data import cache
from dashboard.data.live import LiveDay
from dashboard.shapes import figures, restated
from dashboard.shapes.figures import Aggregate, Measure
from dashboard.shell import frame, widgets
from eventlake.catalog import (
    BRONZE_EVENTS,
    GOLD_DAILY_ACTIVE_USERS,
    GOLD_FUNNEL_DAILY,
    GOLD_REVENUE_DAILY,
)

ACTIVITY = (
    Measure("DAU", "dau", figures.format_count, figures.delta_count,
            "Distinct payload.user_id over the day's silver events (UTC day)."),
    Measure("WAU", "wau", figures.format_count, figures.delta_count,
            "Distinct users over the 7 days ending that day."),
    Measure("MAU", "mau", figures.format_count, figures.delta_count,
            "Distinct users over the 30 days ending that day."),
    Measure("Stickiness", "stickiness", figures.format_ratio, figures.delta_ratio,
            "DAU / MAU of that day; the delta is in percentage points."),
)  # fmt: skip
CONVERSION = Measure(
    "Conversion", "view_to_order_rate", figures.format_ratio, figures.delta_ratio,
    "Of the users who viewed a product that day, the share who added to cart and ordered "
    "within 24 h; the delta is in percentage points.",
)  # fmt: skip
# How each measure is aggregated over a period (see the page's notes).
PERIOD_AGGREGATE: dict[str, Aggregate] = {
    "dau": "mean", "wau": "last", "mau": "last", "stickiness": "mean",
    "revenue": "sum", "orders": "sum",
}  # fmt: skip


def revenue_measures(currency: str) -> tuple[Measure, ...]:
    """Returns how revenue, orders and average order value in `currency` are shown."""

    def amount(value: float | None) -> str:
        return figures.format_amount(value, currency)

    return (
        Measure(f"Revenue ({currency})", "revenue", amount, figures.delta_amount,
                f"Sum of total_amount over the day's distinct order_ids, in {currency} only."),
        Measure(f"Orders ({currency})", "orders", figures.format_count, figures.delta_count,
                f"Distinct order_ids placed that day in {currency} (earliest event wins)."),
        Measure(f"Avg order value ({currency})", "avg_order_value", amount, figures.delta_amount,
                f"Revenue / orders of that day in {currency}."),
    )  # fmt: skip


@dataclass(frozen=True)
class Loaded:
    """The Overview's rows: gold for finished days, today's rows from the log when live."""

    users: pl.DataFrame
    revenue: pl.DataFrame
    funnel: pl.DataFrame
    live: LiveDay | None

    def is_live(self, day: date) -> bool:
        """True when the figures of `day` come from the log."""
        return self.live is not None and self.live.day == day

    def source(self, day: date) -> str:
        """Returns where the figures of `day` come from, for the metrics' help."""
        if self.live is not None and self.live.day == day:
            return (
                f"Source: live, computed {self.live.computed_at:%H:%M:%S} UTC from "
                f"{BRONZE_EVENTS.name} version {self.live.bronze_version} ({self.live.events:,} events)."
            )
        return "Source: the gold tables (materialized from the event log)."


def load(ctx: frame.Context, *, period: bool) -> Loaded:
    """Returns the rows the page needs: from the day before the range (or the period before
    it) to its last day; today's rows replaced by live figures when today is in range."""
    scope = ctx.scope
    start = scope.previous().first if period else scope.first - timedelta(days=1)
    wide = replace(scope, first=start)
    s = ctx.settings
    users = cache.active_users(s, wide)
    revenue = cache.revenue(s, wide)
    funnel = cache.funnel(s, wide)
    live = None
    if ctx.live and scope.first <= ctx.today <= scope.last:
        live = cache.live_day(s, replace(scope, first=ctx.today, last=ctx.today))
        if live.events:
            money = live.revenue
            if scope.currencies:
                money = money.filter(pl.col("currency").is_in(list(scope.currencies)))
            users = figures.overlay(users, live.users, live.day)
            revenue = figures.overlay(revenue, money, live.day)
            funnel = figures.overlay(funnel, live.funnel, live.day)
        else:
            live = None
    return Loaded(users, revenue, funnel, live)


def _period_marks(ctx: frame.Context, table: str, columns: tuple[str, ...]) -> dict[str, list[str]]:
    """Restatements of any day of the range, per column."""
    mine = ctx.restated.filter(pl.col("table") == table) if ctx.restated.height else ctx.restated
    return {
        c: [restated.describe(r) for r in mine.filter(pl.col("column") == c).iter_rows(named=True)]
        if mine.height
        else []
        for c in columns
    }


def period_figures(ctx: frame.Context, data: Loaded, currency_key: str) -> None:
    """Draws every measure over the range against the period before it."""
    scope = ctx.scope
    source = "Compared over periods: see how each measure is aggregated below."
    shown = [
        (m, figures.period_figure(data.users, m.column, scope, PERIOD_AGGREGATE[m.column]))
        for m in ACTIVITY
    ]
    marks = _period_marks(ctx, GOLD_DAILY_ACTIVE_USERS.name, ("dau", "wau", "mau", "stickiness"))
    widgets.metric_figures(shown, [None] * len(shown), marks=marks, source=source)
    options = figures.currencies(data.revenue.filter(pl.col("day") >= scope.first))
    pick = st.columns(4)[0]  # the picker on its own row: four wide metrics below
    slots = st.columns(4)
    if options:
        currency: str = pick.selectbox("Currency", options, key=currency_key)
        daily = figures.currency_daily(data.revenue, data.users["day"], currency)
        money = revenue_measures(currency)
        money_figures = [
            (money[0], figures.period_figure(daily, "revenue", scope, "sum")),
            (money[1], figures.period_figure(daily, "orders", scope, "sum")),
            (money[2], figures.period_figure(daily, "revenue", scope, "ratio", "orders")),
        ]
        columns = ("revenue", "orders", "avg_order_value")
        marks = _period_marks(ctx, GOLD_REVENUE_DAILY.name, columns)
        widgets.metric_figures(money_figures, [None] * 3, slots[:3], marks=marks, source=source)
    else:
        pick.caption("💤 No orders in the selected days.")
    conversion = figures.period_figure(data.funnel, "ordered", scope, "ratio", "viewed")
    marks = _period_marks(ctx, GOLD_FUNNEL_DAILY.name, ("view_to_order_rate",))
    widgets.metric_figures(
        [(CONVERSION, conversion)], [None], slots[3:4], marks=marks, source=source
    )


def source_lines(data: Loaded, now: datetime) -> list[str]:
    """Returns the captions saying where the figures come from and how fresh they are."""
    lines = []
    if data.live is not None:
        live = data.live
        newest = (
            f", newest event {live.newest_event:%H:%M:%S} UTC "
            f"({widgets.format_age((now - live.newest_event).total_seconds())} ago)"
            if live.newest_event is not None
            else ""
        )
        lines.append(
            f"⚡ {live.day} (today): live from {BRONZE_EVENTS.name} version {live.bronze_version}, "
            f"{live.events:,} events{newest}; computed "
            f"{widgets.format_age((now - live.computed_at).total_seconds())} ago. Provisional "
            "until the gold tables hold the day."
        )
    lines.append("🥇 Finished days: the gold tables (their freshness is shown above).")
    return lines
