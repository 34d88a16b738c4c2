"""Page elements every page shares: the freshness line, the no-data notice, metrics, CSV export."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import altair as alt
import polars as pl
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from dashboard.data.lake_state import Freshness, TableFreshness
from dashboard.shapes.figures import DayFigure, Measure, csv_bytes, day_figure
from dashboard.shapes.restated import MARK
from eventlake.catalog import BRONZE_EVENTS

AnyChart = alt.Chart | alt.LayerChart | alt.VConcatChart | alt.HConcatChart
STALE_AFTER = timedelta(minutes=5)
DEFERRED_CSV_ROWS = 5_000
NO_DATA = "No data yet"


def format_age(seconds: float) -> str:
    """Returns an age for humans: "12 s", "4 min", "3 h", "2 d" (rounded down)."""
    s = int(max(0.0, seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h"
    return f"{s // 86400} d"


def format_event_time(when: datetime, now: datetime) -> str:
    """Returns an event time in UTC: "14:03:02 UTC" today, "2024-01-02 14:03:02 UTC" otherwise."""
    if when.date() == now.date():
        return f"{when:%H:%M:%S} UTC"
    return f"{when:%Y-%m-%d %H:%M:%S} UTC"


def _table_part(entry: TableFreshness, now: datetime) -> tuple[str, bool]:
    age = entry.age_seconds(now)
    if age is None:
        return f"{entry.table} not created yet", False
    return f"{entry.table} updated {format_age(age)} ago", age > STALE_AFTER.total_seconds()


def freshness_markdown(freshness: Freshness, now: datetime) -> str:
    """Returns the freshness line as Streamlit markdown; parts older than 5 min are orange.

    Example: "🟢 bronze/events updated 12 s ago, newest event 14:03:02 UTC · gold/... updated
    40 s ago".
    """
    parts: list[str] = []
    any_stale = False
    for entry in freshness.tables:
        text, stale = _table_part(entry, now)
        if entry.table == BRONZE_EVENTS.name and freshness.newest_event is not None:
            text += f", newest event {format_event_time(freshness.newest_event, now)}"
        any_stale |= stale
        parts.append(f":orange[{text}]" if stale else text)
    known = any(t.last_commit is not None for t in freshness.tables)
    icon = "🟠" if any_stale else "🟢" if known else "⚪"
    return f"{icon} " + " · ".join(parts)


def freshness_line(freshness: Freshness, now: datetime) -> None:
    """Draws the freshness line (a caption; orange parts and an icon when stale)."""
    st.caption(freshness_markdown(freshness, now))


def no_data(freshness: Freshness | None) -> None:
    """Draws the friendly notice of a lake without read models, saying what to run."""
    bronze = freshness.table(BRONZE_EVENTS.name) if freshness is not None else None
    if bronze is not None and bronze.last_commit is not None:
        hint = (
            f"Events are arriving in {BRONZE_EVENTS.name}, but the read models are not built yet: "
            "run `eventlake materialize` (the local stack `eventlake up` does it by itself)."
        )
    else:
        hint = (
            "Start the local stack with `eventlake up`, or load events with `eventlake simulate` "
            "and `eventlake ingest --until-idle`, then run `eventlake materialize`."
        )
    st.info(f"**{NO_DATA}** — {hint}", icon="🌱")


def lake_error(err: Exception) -> None:
    """Draws a failed lake read as one line (a Delta backtrace below it is left out)."""
    first_line = (str(err).splitlines() or [type(err).__name__])[0]
    st.error(f"The lake cannot be read: {first_line}", icon="🛑")


def metric(
    label: str,
    value: str,
    delta: str | None,
    *,
    help: str,
    trend: list[float] | None = None,
) -> None:
    """Draws one st.metric; a delta without a non-zero digit ("0", "+0.0 pp") is drawn flat."""
    flat = delta is not None and not any(c in "123456789" for c in delta)
    st.metric(
        label,
        value,
        delta,
        help=help,
        border=True,
        delta_color="off" if flat else "normal",
        delta_arrow="off" if flat else "auto",
        chart_data=trend or None,
    )


def metric_row(
    frame: pl.DataFrame,
    day: date,
    first: date,
    measures: Sequence[Measure],
    slots: Sequence[DeltaGenerator] | None = None,
    *,
    marks: Mapping[str, list[str]] | None = None,
    source: str = "",
) -> None:
    """Draws one metric per measure side by side (in new columns, or in `slots`).

    Each shows its value on `day`, the change since the day before and, as a sparkline, its
    trend from `first` on. `frame` has one row per day and may start before `first`.

    Args:
        marks: column -> restatements of that figure in words: the metric is marked restated.
        source: where the figures come from and how fresh they are, added to each help.
    """
    trend = frame.filter(pl.col("day") >= first)
    figures = [(m, day_figure(frame, m.column, day)) for m in measures]
    trends = [trend[m.column].fill_null(0).to_list() for m in measures]
    metric_figures(figures, trends, slots, marks=marks, source=source)


def metric_figures(
    figures: Sequence[tuple[Measure, DayFigure]],
    trends: Sequence[list[float] | None],
    slots: Sequence[DeltaGenerator] | None = None,
    *,
    marks: Mapping[str, list[str]] | None = None,
    source: str = "",
) -> None:
    """Draws one metric per (measure, figure) side by side, marked when restated."""
    slots = slots if slots is not None else st.columns(len(figures))
    for column, (measure, fig), trend in zip(slots, figures, trends, strict=True):
        notes = (marks or {}).get(measure.column, [])
        help_text = measure.help + (f"\n\n{source}" if source else "")
        label = f"{measure.label} {MARK}" if notes else measure.label
        if notes:
            help_text += "\n\n**Restated:** " + "; ".join(notes)
        with column:
            metric(
                label,
                measure.value(fig.value),
                measure.delta(fig),
                help=help_text,
                trend=trend,
            )


def csv_download(label: str, frame: pl.DataFrame, file_name: str, *, key: str) -> None:
    """Draws a button that downloads `frame` as CSV without rerunning the page."""
    big = frame.height > DEFERRED_CSV_ROWS  # written only when clicked, not on every rerun
    st.download_button(
        f"⬇️ {label}",
        data=(lambda: csv_bytes(frame)) if big else csv_bytes(frame),
        file_name=file_name,
        mime="text/csv",
        key=key,
        on_click="ignore",
        disabled=frame.is_empty(),
    )


def marked(label: str, help_text: str, notes: Sequence[str]) -> tuple[str, str]:
    """Returns a metric's label and help, marked restated when `notes` is not empty."""
    if not notes:
        return label, help_text
    return f"{label} {MARK}", help_text + "\n\n**Restated:** " + "; ".join(notes)


def table(
    frame: pl.DataFrame,
    name: str,
    *,
    key: str,
    caption: str | None = None,
    column_config: Mapping[str, Any] | None = None,
    height: int | None = None,
) -> None:
    """Draws a table with its CSV download button (`name` names the file and the button)."""
    if caption:
        st.caption(caption)
    days = {
        name: st.column_config.DateColumn(name, format="YYYY-MM-DD")
        for name, dtype in frame.schema.items()
        if dtype == pl.Date
    }
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        column_config={**days, **(column_config or {})} or None,
        height=height if height is not None else "auto",
    )
    csv_download(f"{name} (CSV)", frame, f"{key}.csv", key=f"csv_{key}")


def chart(
    spec: AnyChart | None, *, empty: str = "💤 Nothing to draw in the selected days."
) -> None:
    """Draws an Altair chart stretched to the container, or a caption when it has no data."""
    if spec is None:
        st.caption(empty)
        return
    st.altair_chart(spec, width="stretch")
