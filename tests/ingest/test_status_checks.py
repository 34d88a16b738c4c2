"""`eventlake status` for alerting: lag and staleness thresholds (exit 1 when exceeded) and the
Prometheus text format, on a real broker and lake."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from ingest_checks import produce

from cli.main import main
from eventlake.settings import Settings
from ingest.consume.ingester import ingest
from ingest.tools.status_alerts import breaches, prometheus_text, staleness
from ingest.tools.status_report import PartitionStatus, Status, TableStatus

LOGIN = (
    b'{"event_id":"e%d","event_type":"login","aggregate_id":"u","timestamp":1700000000000,'
    b'"payload":{"user_id":"u"}}'
)
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def _status(*, gold_at: datetime, ingested_at: datetime | None) -> Status:
    return Status(
        bootstrap="b:9092",
        lake_root="/lake",
        broker_error=None,
        partitions=[
            PartitionStatus("t", 0, 10, 11, ingested_at),
            PartitionStatus("t", 1, 4, 40, None),
        ],
        dead_letters={"not_json": 2},
        tables=[
            TableStatus("bronze/events", 7, NOW - timedelta(seconds=1)),  # maintenance: ignored
            TableStatus("gold/revenue_daily", 3, gold_at),
        ],
    )


def test_staleness_is_measured_against_the_last_ingested_batch_not_the_clock() -> None:
    behind = _status(gold_at=NOW - timedelta(minutes=10), ingested_at=NOW - timedelta(minutes=4))
    assert staleness(behind) == {"gold/revenue_daily": 360.0}
    caught_up = _status(gold_at=NOW - timedelta(minutes=3), ingested_at=NOW - timedelta(minutes=4))
    assert staleness(caught_up) == {"gold/revenue_daily": 0.0}
    assert staleness(_status(gold_at=NOW, ingested_at=None)) == {}


def test_breaches_name_what_is_exceeded() -> None:
    report = _status(gold_at=NOW - timedelta(minutes=10), ingested_at=NOW - timedelta(minutes=4))
    assert breaches(report) == []
    assert breaches(report, max_lag=35, max_staleness=360) == []
    assert breaches(report, max_lag=34, max_staleness=359) == [
        "lag 35 messages > 34 (worst t/1: 35)",
        "gold/revenue_daily is 360 s behind the event log > 359 s",
    ]
    down = dataclasses.replace(report, broker_error="unreachable")
    assert breaches(down, max_lag=0) == []  # the down broker is reported (and fails) on its own


def test_prometheus_text() -> None:
    text = prometheus_text(
        _status(gold_at=NOW - timedelta(minutes=10), ingested_at=NOW - timedelta(minutes=4))
    )
    assert "# TYPE eventlake_partition_lag gauge" in text
    assert 'eventlake_partition_lag{topic="t",partition="1"} 35' in text
    assert 'eventlake_partition_bronze_offset{topic="t",partition="0"} 10' in text
    assert 'eventlake_dead_letters{code="not_json"} 2' in text
    assert 'eventlake_table_staleness_seconds{table="gold/revenue_daily"} 360' in text
    assert "eventlake_broker_up 1" in text
    stamp = (NOW - timedelta(minutes=10)).timestamp()
    assert (
        f'eventlake_table_last_commit_timestamp_seconds{{table="gold/revenue_daily"}} {stamp:g}'
        in text
    )


def test_status_exits_1_past_a_lag_threshold(
    kafka_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    topic = kafka_settings.topics[0]
    produce(kafka_settings, [(topic, b"u", LOGIN % i) for i in range(5)], partition=1)
    ingest(kafka_settings, until_idle=True)
    produce(kafka_settings, [(topic, b"u", LOGIN % 9)] * 3, partition=1)  # not ingested
    flags = ["--lake-root", kafka_settings.lake_root, "--bootstrap", kafka_settings.kafka_bootstrap,
             "--topics", ",".join(kafka_settings.topics)]  # fmt: skip

    assert main(["status", *flags, "--max-lag", "2"]) == 1
    err = capsys.readouterr().err
    assert f"eventlake status: lag 3 messages > 2 (worst {topic}/1: 3)" in err

    assert main(["status", *flags, "--max-lag", "3", "--format", "prometheus"]) == 0
    out = capsys.readouterr().out
    assert f'eventlake_partition_lag{{topic="{topic}",partition="1"}} 3' in out
    assert f'eventlake_partition_bronze_offset{{topic="{topic}",partition="1"}} 4' in out

    with pytest.raises(SystemExit) as usage:
        main(["status", *flags, "--max-lag", "-1"])
    assert usage.value.code == 2
    assert "argument --max-lag: -1 is negative" in capsys.readouterr().err
