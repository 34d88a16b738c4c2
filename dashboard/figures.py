"""The figures a page shows, computed from query results: pure functions, no I/O, no Streamlit.

A figure is one measure on one day beside the same measure on the day before, formatted the
way `st.metric` shows it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

ACTIVITY_MEASURES: dict[str, str] = {"dau": "DAU", "wau": "WAU", "mau": "MAU"}


@dataclass(frozen=True)
class DayFigure:
    """One measure on a day and on the day before (None where the lake has no row)."""

    day: date
    value: float | None
    previous: float | None

    @property
    def delta(self) -> float | None:
        """Returns value - previous, or None when either is unknown."""
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous


@dataclass(frozen=True)
class Measure:
    """How one column of a one-row-per-day frame is shown as a metric."""

    label: str
    column: str
    value: Callable[[float | None], str]  # e.g. format_count
    delta: Callable[[DayFigure], str | None]  # e.g. delta_count
    help: str


def latest_day(first: date, last: date, *frames: pl.DataFrame) -> date | None:
    """Returns the newest `day` in [first, last] found in any of `frames`, or None."""
    newest = max(
        (frame.filter(pl.col("day").is_between(first, last))["day"].max() for frame in frames),
        key=lambda d: d if isinstance(d, date) else date.min,
        default=None,
    )
    return newest if isinstance(newest, date) else None


def day_figure(frame: pl.DataFrame, column: str, day: date) -> DayFigure:
    """Returns `column` on `day` and on the day before from a frame with one row per day."""

    def on(d: date) -> float | None:
        values = frame.filter(pl.col("day") == d)[column]
        return None if values.is_empty() else values[0]

    return DayFigure(day, on(day), on(day - timedelta(days=1)))


def currencies(revenue: pl.DataFrame) -> list[str]:
    """Returns the currencies in a revenue frame, the one with the most orders first.

    Ties go alphabetically, so the order (and the default selection) is stable.
    """
    if revenue.is_empty():
        return []
    totals = revenue.group_by("currency").agg(pl.col("orders").sum())
    return totals.sort(["orders", "currency"], descending=[True, False])["currency"].to_list()


def currency_daily(revenue: pl.DataFrame, known_days: pl.Series, currency: str) -> pl.DataFrame:
    """Returns one row per known day with the orders and revenue of `currency` on it.

    A day the lake knows (`known_days`, e.g. the days of gold/daily_active_users) without an
    order in that currency counts 0 orders and 0 revenue, with no average order value; a day
    it does not know stays absent, so its deltas stay unknown.
    """
    mine = revenue.filter(pl.col("currency") == currency).select(
        "day", "orders", "revenue", "avg_order_value"
    )
    days = pl.concat([known_days.rename("day").to_frame(), mine.select("day")]).unique()
    return (
        days.join(mine, on="day", how="left")
        .with_columns(pl.col("orders").fill_null(0), pl.col("revenue").fill_null(0.0))
        .sort("day")
    )


def activity_long(users: pl.DataFrame) -> pl.DataFrame:
    """Returns one row per day and measure (DAU, WAU, MAU): the shape a line chart wants."""
    return (
        users.select("day", *ACTIVITY_MEASURES)
        .rename(ACTIVITY_MEASURES)
        .unpivot(index="day", variable_name="measure", value_name="users")
        .sort("measure", "day")
    )


def format_count(value: float | None) -> str:
    """Returns a whole number with thousands separators ("1,234"), or "–" when unknown."""
    return "–" if value is None else f"{round(value):,}"


def format_ratio(value: float | None) -> str:
    """Returns a ratio as a percentage with one decimal ("41.7%"), or "–" when unknown."""
    return "–" if value is None else f"{value * 100:.1f}%"


def format_amount(value: float | None, currency: str) -> str:
    """Returns an amount with two decimals and its currency code ("1,234.50 EUR")."""
    return "–" if value is None else f"{value:,.2f} {currency}"


def delta_count(figure: DayFigure) -> str | None:
    """Returns the day-over-day change of a count ("+20", "-3", "0"), or None when unknown."""
    d = figure.delta
    return None if d is None else f"{round(d):+,}" if round(d) else "0"


def delta_ratio(figure: DayFigure) -> str | None:
    """Returns the change of a ratio in percentage points ("+1.2 pp"), or None when unknown."""
    d = figure.delta
    return None if d is None else f"{d * 100:+.1f} pp"


def delta_amount(figure: DayFigure) -> str | None:
    """Returns the change of an amount with two decimals ("+12.50"), or None when unknown."""
    d = figure.delta
    return None if d is None else f"{d:+,.2f}"


def csv_bytes(frame: pl.DataFrame) -> bytes:
    """Returns the frame as UTF-8 CSV with a header row: what a download button serves."""
    return frame.write_csv().encode()
