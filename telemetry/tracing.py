"""Tracing with OpenTelemetry: off unless the standard OTEL_* variables ask for it.

A process calls `configure(service)` at its entry point. Tracing turns on when
`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set (and
`OTEL_SDK_DISABLED` is not true, `OTEL_TRACES_EXPORTER` not `none`): spans then go to that
collector over OTLP/HTTP in batches, configured by the other OTEL_* variables as the SDK reads
them (service name, sampler, headers). Off, every helper here returns at once: no span, no
header, no cost beyond one boolean test (docs/operations.md, "Tracing").

The trace context travels in the W3C `traceparent` (and `tracestate`) Kafka message headers,
from the producer library through the ingester into the bronze row's metadata.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_PROPAGATOR = TraceContextTextMapPropagator()
_ENDPOINTS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
_provider: trace.TracerProvider | None = None  # None: tracing is off

Headers = list[tuple[str, bytes]]


def wanted(env: Mapping[str, str]) -> bool:
    """Whether the OTEL_* variables of `env` ask for traces."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if env.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() == "none":
        return False
    return any(env.get(name, "").strip() for name in _ENDPOINTS)


def configure(service: str, env: Mapping[str, str] | None = None) -> bool:
    """Turns tracing on for this process when the environment asks for it; returns whether
    it is on. `service` names the process unless OTEL_SERVICE_NAME does."""
    env = os.environ if env is None else env
    if not wanted(env):
        return False
    if _provider is not None:  # configured already (a command that loads the Dagster code)
        return True
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    name = env.get("OTEL_SERVICE_NAME") or f"eventlake-{service}"
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    use(provider)
    return True


def use(provider: trace.TracerProvider | None) -> None:
    """Sends this process's spans to `provider` (`configure`, or a test's in-memory one);
    None turns tracing off. Kept here rather than as OpenTelemetry's global provider, which can
    be set only once per process."""
    global _provider
    _provider = provider


def is_on() -> bool:
    """Whether this process records spans."""
    return _provider is not None


def tracer(name: str) -> trace.Tracer:
    """Returns the tracer of a module (a no-op one while tracing is off)."""
    return trace.NoOpTracer() if _provider is None else _provider.get_tracer(name)


@contextmanager
def span(
    name: str,
    attributes: Mapping[str, Any] | None = None,
    *,
    kind: trace.SpanKind = trace.SpanKind.INTERNAL,
    parent: otel_context.Context | None = None,
) -> Iterator[trace.Span | None]:
    """A span named `name` around the block (None, and nothing recorded, while tracing is off)."""
    if _provider is None:
        yield None
        return
    found = tracer("eventlake").start_as_current_span(
        name, context=parent, kind=kind, attributes=dict(attributes or {})
    )
    with found as current:
        yield current


def record_span(
    name: str,
    start_ns: int,
    attributes: Mapping[str, Any] | None = None,
    *,
    parent: otel_context.Context | None = None,
) -> None:
    """Records a span named `name` that started at `start_ns` (wall clock) and ends now, under
    `parent` (a carried trace context) or the current span; nothing while tracing is off."""
    if _provider is None:
        return
    span = tracer("eventlake").start_span(
        name, context=parent, start_time=start_ns, attributes=dict(attributes or {})
    )
    span.end()


def traceparent_context(traceparent: str) -> otel_context.Context | None:
    """Returns the trace context of a W3C `traceparent` value (None when malformed)."""
    return context_of([("traceparent", traceparent.encode())])


def headers() -> Headers:
    """Returns the Kafka headers carrying the current trace context ([] while off or outside a
    span)."""
    if _provider is None:
        return []
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return [(key, value.encode()) for key, value in carrier.items()]


def context_of(found: Sequence[tuple[str, bytes | None]] | None) -> otel_context.Context | None:
    """Returns the trace context carried by Kafka message headers, or None when they carry none."""
    if not found:
        return None
    carrier = {
        k: v.decode("latin-1") for k, v in found if v is not None and k in _PROPAGATOR.fields
    }
    if "traceparent" not in carrier:
        return None
    return _PROPAGATOR.extract(carrier)


def current_ids() -> tuple[str, str] | None:
    """Returns (trace id, span id) of the current span in hex, for log lines; None outside one."""
    if _provider is None:
        return None
    found = trace.get_current_span().get_span_context()
    if not found.is_valid:
        return None
    return trace.format_trace_id(found.trace_id), trace.format_span_id(found.span_id)


class _TraceIds(logging.Filter):
    """Gives a record logged inside a span its `trace_id` and `span_id` (fields of the JSON
    logs) and appends ` trace=<id> span=<id>` to its message (the text logs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        ids = current_ids()
        if ids is not None:
            record.trace_id, record.span_id = ids
            record.msg = f"{record.msg} trace={ids[0]} span={ids[1]}"
        return True


def add_ids_to_logs() -> None:
    """Makes every log line written inside a span carry its trace and span ids (when on)."""
    for handler in logging.getLogger().handlers:
        handler.addFilter(_TraceIds())
