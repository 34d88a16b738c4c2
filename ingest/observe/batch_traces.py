"""Traces of the ingester's batches (docs/operations.md, "Tracing"); nothing runs while off.

Each committed batch is a span `eventlake ingest batch` with children for its phases (consume:
its first message to sealing; decode; write and commit), event counts, offsets and the bronze
version it made. A message that carried a W3C trace context (the producer library's
`traceparent` header) keeps it in its bronze row's `metadata`, and gets a span `eventlake
ingest` in its own trace, so one event's trace shows its producer and its ingestion (and, from
the metadata, its materialization); the batch span links to those traces.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import msgspec
import polars as pl
from confluent_kafka import Message
from opentelemetry import trace
from opentelemetry.util.types import AttributeValue

from ingest.write.bronze import Committed
from telemetry import tracing

TRACEPARENT = "traceparent"
MAX_EVENT_SPANS = 1000  # per batch; sample upstream (OTEL_TRACES_SAMPLER) for more traffic
Position = tuple[str, int, int]  # topic, partition, offset


def carried(messages: Sequence[Message]) -> dict[Position, str]:
    """Returns the `traceparent` header of each message that has one, by Kafka position
    (nothing, and no header read, while tracing is off)."""
    if not tracing.is_on():
        return {}
    found: dict[Position, str] = {}
    for msg in messages:
        headers = msg.headers() or []
        pairs = headers.items() if isinstance(headers, dict) else headers
        for key, value in pairs:
            if key == TRACEPARENT and value:
                text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
                found[(msg.topic() or "", msg.partition() or 0, msg.offset() or 0)] = text
    return found


def with_trace_context(events: pl.DataFrame, traced: Mapping[Position, str]) -> pl.DataFrame:
    """Returns bronze/events rows with each traced message's `traceparent` added to its
    `metadata` JSON object (made when the event had none)."""
    if not traced or events.is_empty():
        return events
    keys = ("kafka_topic", "kafka_partition", "kafka_offset")
    found = pl.DataFrame(
        [(*position, tp) for position, tp in traced.items()],
        schema={"kafka_topic": pl.String, "kafka_partition": pl.Int32,
                "kafka_offset": pl.Int64, "_tp": pl.String},
        orient="row",
    )  # fmt: skip
    joined = events.join(found, on=list(keys), how="left", maintain_order="left")
    metadata = [
        meta if tp is None else _with_traceparent(meta, tp)
        for meta, tp in zip(joined["metadata"], joined["_tp"], strict=True)
    ]
    return joined.drop("_tp").with_columns(metadata=pl.Series(metadata, dtype=pl.String))


def _with_traceparent(metadata: str | None, traceparent: str) -> str:
    found = msgspec.json.decode(metadata) if metadata else {}
    return msgspec.json.encode({**found, TRACEPARENT: traceparent}).decode()


def record(done: Committed) -> None:
    """Records the spans of a committed batch (now is its commit's end)."""
    if not tracing.is_on():
        return
    batch, tracer = done.batch, tracing.tracer("ingest")
    traced, sealed_at_ns = batch.traced, batch.sealed_at_ns
    end = time.time_ns()
    start = batch.started_at_us * 1000
    write_start = max(end - int(done.write_ms * 1e6), sealed_at_ns)
    contexts = [
        c
        for tp in list(traced.values())[:MAX_EVENT_SPANS]
        if (c := tracing.traceparent_context(tp))
    ]
    attributes: dict[str, AttributeValue] = {
        "eventlake.batch.seq": batch.seq,
        "eventlake.batch.messages": batch.messages,
        "eventlake.batch.events": done.events,
        "eventlake.batch.dead_letters": done.dead_letters,
        "eventlake.bronze.version": -1 if done.events_version is None else done.events_version,
        "eventlake.batch.partitions": [f"{t}/{p}@{o}" for (t, p), o in done.of_record.items()],
    }
    links = [trace.Link(trace.get_current_span(c).get_span_context()) for c in contexts]
    span = tracer.start_span("eventlake ingest batch", start_time=start, attributes=attributes,
                             links=links[:128])  # fmt: skip
    parent = trace.set_span_in_context(span)
    for name, a, b in (
        ("consume", start, sealed_at_ns - int(batch.decode_ms * 1e6)),
        ("decode", sealed_at_ns - int(batch.decode_ms * 1e6), sealed_at_ns),
        ("write and commit", write_start, end),
    ):
        tracer.start_span(name, context=parent, start_time=a).end(end_time=max(a, b))
    span.end(end_time=end)
    for context in contexts:  # the ingestion, in each traced event's own trace
        one = tracer.start_span("eventlake ingest", context=context, start_time=start,
                                attributes=attributes, links=[trace.Link(span.get_span_context())])  # fmt: skip
        one.end(end_time=end)
