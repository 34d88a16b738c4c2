"""`eventlake status` data, and the ingester refusing a topic that was recreated behind its back."""

from __future__ import annotations

import dataclasses
import time

import pytest
from ingest_checks import free_port, produce, recreate_topic

from eventlake.errors import OffsetsAhead
from eventlake.settings import Settings
from ingest.consume.ingester import ingest
from ingest.tools import status_report

LOGIN = (
    b'{"event_id":"e%d","event_type":"login","aggregate_id":"u","timestamp":1700000000000,'
    b'"payload":{"user_id":"u"}}'
)


def test_status_reports_lag_dead_letters_and_table_freshness(kafka_settings: Settings) -> None:
    topic = kafka_settings.topics[0]
    produce(kafka_settings, [(topic, b"u", LOGIN % i) for i in range(5)] + [(topic, b"u", b"x")],
            partition=1)  # fmt: skip
    ingest(kafka_settings, until_idle=True)
    produce(kafka_settings, [(topic, b"u", LOGIN % 9)] * 3, partition=1)  # not ingested yet

    report = status_report.collect(kafka_settings)
    assert report.broker_error is None
    by_key = {(p.topic, p.partition): p for p in report.partitions}
    assert len(by_key) == 12
    assert (by_key[(topic, 1)].bronze_offset, by_key[(topic, 1)].kafka_end) == (5, 9)
    assert by_key[(topic, 1)].lag == 3
    assert by_key[(topic, 0)].bronze_offset is None and by_key[(topic, 0)].lag == 0
    assert report.dead_letters == {"not_json": 1}
    names = [t.name for t in report.tables]
    assert names == ["bronze/events", "bronze/dead_letters", "bronze/ingest_batches"]
    assert all(abs(time.time() - t.last_commit.timestamp()) < 60 for t in report.tables)

    text = status_report.render(report)
    assert f"{topic}/1" in text and "not_json=1" in text and "bronze/ingest_batches" in text
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("partition"))
    row = next(line for line in lines if line.startswith(f"{topic}/1 "))
    assert len(row) == len(header) and row.split()[:4] == [f"{topic}/1", "5", "9", "3"]
    assert row.split()[4].endswith("s")  # the partition's last commit, seconds ago


def test_status_without_a_broker_still_reports_the_lake(kafka_settings: Settings) -> None:
    topic = kafka_settings.topics[1]
    produce(kafka_settings, [(topic, b"u", LOGIN % i) for i in range(4)], partition=4)
    ingest(kafka_settings, until_idle=True)
    down = dataclasses.replace(kafka_settings, kafka_bootstrap=f"127.0.0.1:{free_port()}")

    report = status_report.collect(down)
    assert report.broker_error is not None and "cannot reach Kafka" in report.broker_error
    assert [(p.topic, p.partition, p.bronze_offset, p.lag) for p in report.partitions] == [
        (topic, 4, 3, None)
    ]
    assert "DOWN" in status_report.render(report)
    assert report.tables[0].name == "bronze/events"


def test_status_of_an_empty_lake(settings: Settings) -> None:
    down = dataclasses.replace(settings, kafka_bootstrap=f"127.0.0.1:{free_port()}")
    report = status_report.collect(down)
    assert (report.partitions, report.dead_letters, report.tables) == ([], {}, [])
    assert "no tables yet" in status_report.render(report)


def test_a_recreated_topic_is_refused_not_silently_skipped(kafka_settings: Settings) -> None:
    topic = kafka_settings.topics[0]
    produce(kafka_settings, [(topic, b"u", LOGIN % i) for i in range(10)], partition=0)
    ingest(kafka_settings, until_idle=True)

    recreate_topic(kafka_settings, topic)
    produce(kafka_settings, [(topic, b"u", LOGIN % i) for i in range(3)], partition=0)

    with pytest.raises(OffsetsAhead, match=rf"{topic}/0: bronze/events holds offsets up to 9"):
        ingest(kafka_settings, until_idle=True)
