"""Tracing from producer to gold, on the real broker and real Dagster runs: an event sent in a
trace keeps its trace context in its bronze row, and its trace holds its producer, ingest and
materialization spans; each batch and each table's materialization is a span of its own;
untraced events are left as they were."""

from __future__ import annotations

import json

import polars as pl
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from eventlake import lake
from eventlake.catalog import BRONZE_EVENTS
from eventlake.settings import Settings
from ingest.consume.ingester import ingest
from kafka_io import outgoing
from kafka_io.producer import EventProducer
from orchestration.materialize import materialize_days
from telemetry import tracing
from tests.conftest import trace_into


def test_an_events_trace_holds_its_producer_ingestion_and_materialization(
    kafka_settings: Settings, traces: InMemorySpanExporter
) -> None:
    traced = outgoing.login("u-traced", metadata={"session_id": "s1"})
    plain = outgoing.login("u-plain")
    with EventProducer(kafka_settings) as producer:
        with tracing.span("checkout") as parent:
            producer.send(traced)
        tracing.use(None)  # the second event is sent untraced
        producer.send(plain)
    assert parent is not None
    trace_into(traces)  # on again, into the same exporter

    ingest(kafka_settings, until_idle=True)

    rows = lake.scan(kafka_settings, BRONZE_EVENTS).collect()
    meta = dict(rows.select("event_id", "metadata").iter_rows())
    trace_id = f"{parent.get_span_context().trace_id:032x}"
    assert json.loads(meta[traced.event_id])["session_id"] == "s1"
    assert json.loads(meta[traced.event_id])["traceparent"].split("-")[1] == trace_id
    assert meta[plain.event_id] is None

    spans = traces.get_finished_spans()
    ingested = [s for s in spans if s.name == "eventlake ingest"]
    assert [f"{s.context.trace_id:032x}" for s in ingested] == [trace_id]
    (batch,) = [s for s in spans if s.name == "eventlake ingest batch"]
    assert batch.attributes is not None and batch.attributes["eventlake.batch.events"] == 2
    phases = {s.name for s in spans if s.parent and s.parent.span_id == batch.context.span_id}
    assert phases == {"consume", "decode", "write and commit"}
    assert [link.context.trace_id for link in batch.links] == [parent.get_span_context().trace_id]
    assert rows.filter(pl.col("metadata").is_not_null()).height == 1

    day = rows["event_date"][0]
    materialize_days(kafka_settings, day, day)  # Dagster, in this process
    spans = traces.get_finished_spans()
    in_trace = {s.name for s in spans if f"{s.context.trace_id:032x}" == trace_id}
    assert in_trace == {
        "checkout",
        "eventlake produce",
        "eventlake ingest",
        "eventlake materialize",
    }
    tables = {s.name for s in spans if s.name.startswith("eventlake materialize ")}
    assert {
        "eventlake materialize silver/events",
        "eventlake materialize gold/revenue_daily",
    } <= tables
