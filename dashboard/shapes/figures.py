"""The figures a page shows, computed from query results: pure functions, no I/O, no Streamlit.

A figure is one measure on one day beside the same measure on the day before, formatted the
way `st.metric` shows it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import polars as pl

from dashboard.data.scope import Scope

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


def counts(*rows: tuple[str, str, str]) -> tuple[Measure, ...]:
    """Returns a Measure of a count (1,234; change +12) per (label, column, help) row."""
    return tuple(
        Measure(label, column, format_count, delta_count, text) for label, column, text in rows
    )


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
    """Returns an amount and its currency code: two decimals below 10,000 ("1,234.50 EUR"),
    whole units from there on ("41,862 EUR"), so that it fits a metric."""
    if value is None:
        return "–"
    return f"{value:,.0f} {currency}" if abs(value) >= 10_000 else f"{value:,.2f} {currency}"


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


Aggregate = Literal["sum", "mean", "last", "ratio"]


def period_figure(
    frame: pl.DataFrame,
    column: str,
    scope: Scope,
    how: Aggregate,
    denominator: str | None = None,
) -> DayFigure:
    """Returns one measure over the scope's days beside the same over the period before.

    Args:
        frame: one row per day (may span both periods, and more).
        how: "sum" or "mean" of the days' values; "last": the value on the period's last day;
            "ratio": sum(column) / sum(denominator) (a rate over the whole period).
    """

    def over(first: date, last: date) -> float | None:
        rows = frame.filter(pl.col("day").is_between(first, last))
        if rows.is_empty():
            return None
        if how == "last":
            at_last = rows.filter(pl.col("day") == last)[column]
            return None if at_last.is_empty() else number(at_last[0])
        if how == "ratio" and denominator is not None:
            top, below = number(rows[column].sum()), number(rows[denominator].sum())
            return None if top is None or not below else top / below
        series = rows[column].drop_nulls()
        if series.is_empty():
            return None
        return number(series.sum() if how == "sum" else series.mean())

    before = scope.previous()
    return DayFigure(scope.last, over(scope.first, scope.last), over(before.first, before.last))


def overlay(frame: pl.DataFrame, live: pl.DataFrame, day: date) -> pl.DataFrame:
    """Returns `frame` with its rows of `day` replaced by `live` (same columns), sorted by day."""
    if live.is_empty() and frame.filter(pl.col("day") == day).is_empty():
        return frame
    kept = frame.filter(pl.col("day") != day)
    return pl.concat([kept, live.select(frame.columns).cast(frame.schema)]).sort(
        [c for c in ("day", "currency", "product_id") if c in frame.columns]
    )


def daily_totals(revenue: pl.DataFrame) -> pl.DataFrame:
    """Returns one row per day of a revenue frame with its orders summed over currencies."""
    return revenue.group_by("day").agg(pl.col("orders").sum()).sort("day")


def number(value: object) -> float | None:
    """Returns a Polars scalar (a sum, a mean, a cell) as a float, or None when not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def format_moment(value: object, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Returns a date or datetime (a Polars scalar) formatted, or "–" when it is not one."""
    return value.strftime(fmt) if isinstance(value, date) else "–"
