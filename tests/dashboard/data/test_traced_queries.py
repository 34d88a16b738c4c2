"""With tracing on, every cached query of a page is a span named after it."""

from __future__ import annotations

from datetime import date

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from dashboard.data import cache
from dashboard.data.scope import Scope
from eventlake.settings import Settings

DAY = date(2026, 3, 1)


def test_each_query_call_is_a_span(settings: Settings, traces: InMemorySpanExporter) -> None:
    scope = Scope(first=DAY, last=DAY)
    cache.revenue(settings, scope)  # an empty lake: the query still runs and answers
    cache.funnel(settings, scope)
    cache.revenue(settings, scope)  # served from the cache: still a span
    names = [s.name for s in traces.get_finished_spans()]
    assert names == ["dashboard query revenue", "dashboard query funnel", "dashboard query revenue"]
