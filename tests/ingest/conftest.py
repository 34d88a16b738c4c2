"""Fixtures of the ingest tests: one real local broker for the session, fresh topics per test.

The broker is the bundled Tansu, started and stopped through `ingest.tools.broker` itself. Each test
gets its own topics and consumer group, so tests never see each other's messages.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from eventlake.settings import Settings
from ingest.tools import broker

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the `ingest_checks` helpers
from ingest_checks import free_port

# Group joins take about session.timeout.ms / 2 on this broker (docs/deploy-kafka.md): keep them short.
FAST_GROUP = {"session.timeout.ms": 2000, "heartbeat.interval.ms": 400}
MAX_MESSAGE_BYTES = 64 * 1024  # small, so too_large messages stay small too


@pytest.fixture(scope="session")
def broker_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The bootstrap address of a local broker that lives for the whole test session."""
    state_dir = tmp_path_factory.mktemp("broker-state")
    bootstrap = f"127.0.0.1:{free_port()}"
    settings = Settings.from_env(env={}, kafka_bootstrap=bootstrap)
    broker.start(settings, state_dir=state_dir, topics=())
    yield bootstrap
    broker.stop(state_dir=state_dir, timeout=1.0)  # it waits 5 s for lingering clients


@pytest.fixture
def kafka_settings(settings: Settings, broker_bootstrap: str) -> Settings:
    """Settings for a fresh lake, two fresh 6-partition topics and a fresh consumer group."""
    return fresh_settings(settings, broker_bootstrap)


@pytest.fixture
def private_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """(bootstrap, pid) of a broker of the test's own: for tests that pause or stop it."""
    state_dir = tmp_path_factory.mktemp("private-broker")
    bootstrap = f"127.0.0.1:{free_port()}"
    pid = broker.start(Settings.from_env(env={}, kafka_bootstrap=bootstrap), state_dir=state_dir,
                       topics=())  # fmt: skip
    try:
        yield bootstrap, pid
    finally:
        with contextlib.suppress(ProcessLookupError):  # the test may have failed while paused
            os.kill(pid, signal.SIGCONT)
        broker.stop(state_dir=state_dir, timeout=1.0)


def fresh_settings(settings: Settings, bootstrap: str) -> Settings:
    """Settings for a fresh lake, two fresh 6-partition topics and a fresh consumer group."""
    tag = uuid.uuid4().hex[:8]
    fresh = dataclasses.replace(
        settings,
        kafka_bootstrap=bootstrap,
        topics=(f"user_events_{tag}", f"commerce_events_{tag}"),
        group_id=f"eventlake-test-{tag}",
        kafka_config=FAST_GROUP,
        max_message_bytes=MAX_MESSAGE_BYTES,
    )
    broker.ensure_topics(fresh, partitions=6)
    return fresh
