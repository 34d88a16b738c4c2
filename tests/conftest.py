"""Fixtures every test folder shares."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from eventlake.settings import Settings
from telemetry import tracing

if TYPE_CHECKING:
    import dagster as dg


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for a fresh, empty lake in a temporary folder (environment ignored)."""
    return Settings.from_env(env={}, lake_root=str(tmp_path / "lake"))


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dg.DagsterInstance]:
    """A throwaway Dagster instance (DAGSTER_HOME points at a temporary folder)."""
    import dagster as dg  # only the tests that run Dagster pay for its import

    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.instance_for_test(temp_dir=str(home)) as inst:
        yield inst


@pytest.fixture
def traces() -> Iterator[InMemorySpanExporter]:
    """Tracing on for the test, every finished span kept in memory (the SDK's own exporter)."""
    exporter = InMemorySpanExporter()
    provider = trace_into(exporter)
    try:
        yield exporter
    finally:
        tracing.use(None)
        provider.shutdown()


def trace_into(exporter: InMemorySpanExporter) -> TracerProvider:
    """Turns tracing on, every finished span going to `exporter`; returns the provider."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use(provider)
    return provider


@pytest.fixture(scope="module")
def local_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real local broker (the bundled Tansu) for the tests of one module; its address."""
    from ingest.tools import broker

    state: Path = tmp_path_factory.mktemp("broker")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    bootstrap = f"127.0.0.1:{port}"
    broker.start(Settings.from_env(env={}, kafka_bootstrap=bootstrap), state_dir=state, topics=())
    yield bootstrap
    broker.stop(state_dir=state, timeout=1.0)
