"""The benchmarks' OTLP/HTTP receiver counts what the SDK's own exporter sends it."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from bench.trace_sink import PATH, TraceSink


def test_the_sink_counts_the_spans_requests_and_bytes_an_exporter_sends() -> None:
    with TraceSink() as sink:
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(sink.endpoint + PATH)))
        tracer = provider.get_tracer("test")
        with tracer.start_as_current_span("outer"), tracer.start_as_current_span("inner"):
            pass
        with tracer.start_as_current_span("third"):
            pass
        provider.shutdown()

        assert (sink.received.requests, sink.received.spans) == (3, 3)  # one export per span
        assert sink.received.bytes > 3 * len("outer")


def test_the_sink_refuses_other_paths_and_bodies() -> None:
    with TraceSink() as sink:
        for path, body, code in ((PATH + "x", b"", 404), (PATH, b"\xff\xff\xff", 400)):
            request = urllib.request.Request(sink.endpoint + path, data=body, method="POST")
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(request, timeout=5)
            assert refused.value.code == code
        assert sink.received.requests == 0
