"""Materialization spans in the traces of the events a run brought into silver (docs/operations.md,
"Tracing"): an event that carried a W3C trace context keeps it in its metadata
(`traceparent`), so its trace shows the silver write that took it in, beside its producer and
ingest spans. Nothing is read while tracing is off.
"""

from __future__ import annotations

import polars as pl

from telemetry import tracing

MAX_EVENT_SPANS = 1000  # per write; sample upstream for more traffic


def record(frame: pl.DataFrame, table: str, started_ns: int) -> None:
    """Records a span `eventlake materialize` from `started_ns` to now in the trace of each
    traced event of `frame` (rows with `metadata` and `event_id`)."""
    if not tracing.is_on() or frame.is_empty():
        return
    traced = (
        frame.lazy()
        .filter(pl.col("metadata").str.contains('"traceparent"', literal=True))
        .select("event_id", tp=pl.col("metadata").str.json_path_match("$.traceparent"))
        .drop_nulls("tp")
        .head(MAX_EVENT_SPANS)
        .collect()
    )
    for event_id, traceparent in traced.iter_rows():
        parent = tracing.traceparent_context(traceparent)
        if parent is not None:
            attributes = {"eventlake.table": table, "eventlake.event_id": event_id}
            tracing.record_span("eventlake materialize", started_ns, attributes, parent=parent)
