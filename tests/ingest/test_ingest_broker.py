"""The bundled broker's lifecycle, topic creation, and true end offsets."""

from __future__ import annotations

import dataclasses
import socket
from pathlib import Path

import pytest
from ingest_checks import free_port, produce

from eventlake.errors import BrokerUnavailable
from eventlake.settings import Settings
from ingest.kafka import cluster
from ingest.tools import broker


def test_start_is_idempotent_and_stop_ends_the_process(tmp_path: Path) -> None:
    settings = Settings.from_env(env={}, kafka_bootstrap=f"127.0.0.1:{free_port()}",
                                 topics=("a_topic", "b_topic"))  # fmt: skip
    state = tmp_path / "state"
    try:
        pid = broker.start(settings, state_dir=state, partitions=3)
        assert broker.start(settings, state_dir=state) == pid  # already running: same process
        assert (state / broker.PID_FILE).read_text().strip() == str(pid)
        status = broker.status(settings, state_dir=state)
        assert status.running and status.pid == pid
        assert status.topics == {"a_topic": 3, "b_topic": 3}
        assert status.messages == {"a_topic": 0, "b_topic": 0}
    finally:
        assert broker.stop(state_dir=state) is True
    assert not (state / broker.PID_FILE).exists()
    assert broker.stop(state_dir=state) is False  # nothing left to stop
    with pytest.raises(BrokerUnavailable, match="no broker is running"):
        broker.status(settings, state_dir=state)
    assert "listening on" in (state / broker.LOG_FILE).read_text()


def test_start_refuses_a_port_someone_else_holds(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        settings = Settings.from_env(env={}, kafka_bootstrap=f"127.0.0.1:{port}")
        with pytest.raises(BrokerUnavailable, match="already in use"):
            broker.start(settings, state_dir=tmp_path)


def test_unreachable_broker_is_reported_in_one_line() -> None:
    settings = Settings.from_env(env={}, kafka_bootstrap=f"127.0.0.1:{free_port()}")
    for call in (cluster.list_topics, broker.ensure_topics):
        with pytest.raises(BrokerUnavailable) as caught:
            call(settings)
        assert "cannot reach Kafka" in str(caught.value) and "\n" not in str(caught.value)


def test_ensure_topics_creates_only_missing_ones(kafka_settings: Settings) -> None:
    assert broker.ensure_topics(kafka_settings) == []  # the fixture created them
    extra = kafka_settings.topics[0] + "_extra"
    assert broker.ensure_topics(kafka_settings, [extra], partitions=2) == [extra]
    assert cluster.list_topics(kafka_settings)[extra] == 2
    with pytest.raises(BrokerUnavailable, match="do not exist"):
        cluster.require_topics(kafka_settings, [extra, "no_such_topic_anywhere"])


def test_end_offsets_are_true_with_batches_of_many_messages(kafka_settings: Settings) -> None:
    topic = kafka_settings.topics[0]
    delivered = produce(kafka_settings, [(topic, b"k%d" % (i % 5), b"v") for i in range(3000)])
    ends = cluster.end_offsets(kafka_settings, cluster.partitions_of({topic: 6}))
    expected = {(topic, p): 0 for p in range(6)}
    expected.update({key: max(offs) + 1 for key, offs in delivered.items()})
    assert ends == expected
    assert sum(ends.values()) == 3000


def test_a_bootstrap_that_is_not_host_port_is_a_clear_error() -> None:
    settings = dataclasses.replace(Settings.from_env(env={}), kafka_bootstrap="localhost")
    with pytest.raises(BrokerUnavailable, match="HOST:PORT"):
        cluster.list_topics(settings)
