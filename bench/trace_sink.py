"""A tiny OTLP/HTTP trace receiver for the benchmarks: accepts `POST /v1/traces` (protobuf, as
the SDK's OTLP/HTTP exporter sends it) and counts the requests, spans and bytes it received.

It stands in for the OpenTelemetry Collector of docs/operations.md ("Tracing") so that a
benchmark can run a process with tracing on without any other service: it answers at once and
keeps nothing but the counts.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

PATH = "/v1/traces"


@dataclass
class Received:
    """What the sink was sent: export requests, spans in them, bytes of their bodies."""

    requests: int = 0
    spans: int = 0
    bytes: int = 0


class TraceSink:
    """An OTLP/HTTP receiver on 127.0.0.1 (a free port) in a thread of this process.

    Use as a context manager; `endpoint` is what `OTEL_EXPORTER_OTLP_ENDPOINT` takes.
    """

    def __init__(self) -> None:
        self.received = Received()
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path != PATH:
                    self.send_error(404)
                    return
                request = ExportTraceServiceRequest()
                try:
                    request.ParseFromString(body)
                except Exception:  # a body that is not the protobuf request
                    self.send_error(400)
                    return
                spans = sum(
                    len(scope.spans)
                    for resource in request.resource_spans
                    for scope in resource.scope_spans
                )
                sink._count(spans, len(body))
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: object) -> None:
                pass  # quiet: one line per export would drown the benchmark's output

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        """Returns the base URL the OTLP/HTTP exporter appends `/v1/traces` to."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def _count(self, spans: int, size: int) -> None:
        with self._lock:
            self.received.requests += 1
            self.received.spans += spans
            self.received.bytes += size

    def __enter__(self) -> TraceSink:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
