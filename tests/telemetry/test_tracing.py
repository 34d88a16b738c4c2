"""Tracing: off unless OTEL_* asks for it; when on, spans nest and log lines carry their ids."""

from __future__ import annotations

import logging

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from telemetry import tracing


@pytest.mark.parametrize(
    ("env", "on"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "  "}, False),
    ],
)
def test_tracing_is_on_only_when_the_standard_variables_ask(env: dict[str, str], on: bool) -> None:
    assert tracing.wanted(env) is on
    assert not tracing.configure("test", env={}) and not tracing.is_on()


def test_spans_nest_and_log_lines_carry_their_ids(
    traces: InMemorySpanExporter, caplog: pytest.LogCaptureFixture
) -> None:
    handler = logging.StreamHandler()
    logging.getLogger().addHandler(handler)
    try:
        tracing.add_ids_to_logs()
        with tracing.span("outer", {"k": 1}), tracing.span("inner") as inner:
            assert inner is not None
            ids = tracing.current_ids()
            logging.getLogger("eventlake.test").warning("inside")
    finally:
        logging.getLogger().removeHandler(handler)
    outer_span, inner_span = sorted(traces.get_finished_spans(), key=lambda s: s.name != "outer")
    assert inner_span.parent is not None and inner_span.parent.span_id == outer_span.context.span_id
    assert ids is not None and int(ids[0], 16) == outer_span.context.trace_id
    assert any(f"trace={ids[0]} span={ids[1]}" in r.getMessage() for r in caplog.records)
