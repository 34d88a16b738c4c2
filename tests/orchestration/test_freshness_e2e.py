"""End to end: events produced to a real local broker, ingested into bronze, materialized by a
real Dagster run; the lake alone then says how long each took to reach every gold table
(operations/freshness.py, docs/operations.md "Event to gold latency")."""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from datetime import UTC, datetime

import dagster as dg
import pytest
from confluent_kafka import Producer
from prometheus_client.parser import text_string_to_metric_families

from cli.main import main
from eventlake import lake
from eventlake.catalog import GOLD_DAY_TABLES, SILVER_EVENTS
from eventlake.log_rules import GOLD_BRONZE_KEY, decode_day_versions, silver_day_app_id
from eventlake.settings import Settings
from ingest.consume.ingester import ingest
from ingest.tools import broker
from operations import freshness
from orchestration.materialize import materialize_days

EVENTS = 40


def login(i: int, now_ms: int) -> bytes:
    return json.dumps({"event_id": f"e{i}", "event_type": "login", "aggregate_id": f"u{i % 7}",
                       "timestamp": now_ms, "payload": {"user_id": f"u{i % 7}"}}).encode()  # fmt: skip


@pytest.mark.timeout(300)
def test_every_event_reaches_every_gold_table_within_the_test_and_status_shows_it(
    settings: Settings,
    local_broker: str,
    instance: dg.DagsterInstance,
    capsys: pytest.CaptureFixture[str],
) -> None:
    topic = f"user_events_{uuid.uuid4().hex[:8]}"
    settings = dataclasses.replace(
        settings,
        kafka_bootstrap=local_broker,
        topics=(topic,),
        group_id=f"fresh-{topic}",
        kafka_config={"session.timeout.ms": 2000, "heartbeat.interval.ms": 400},
    )
    broker.ensure_topics(settings, partitions=3)
    started = time.time()
    producer = Producer({"bootstrap.servers": local_broker, "linger.ms": 5})
    for i in range(EVENTS):
        producer.produce(topic, login(i, int(time.time() * 1000)), f"u{i % 7}".encode())
    assert producer.flush(10) == 0

    ingest(settings, until_idle=True)
    days = sorted({datetime.fromtimestamp(started, UTC).date(), datetime.now(UTC).date()})
    materialize_days(settings, days[0], days[-1], instance=instance)
    wall = time.time() - started

    # Each gold commit recorded the bronze version silver's day reflected.
    silver = lake.open_table(settings, SILVER_EVENTS)
    for spec in GOLD_DAY_TABLES:
        (newest, *_) = freshness.commits_since(settings, spec, datetime.fromtimestamp(started, UTC))
        recorded = {
            day: version
            for first, last, version in decode_day_versions(str(newest[GOLD_BRONZE_KEY]))
            for day in (first, last)
        }
        assert recorded == {d: lake.txn_of(silver, silver_day_app_id(d)) for d in days}, spec.name

    now = datetime.now(UTC)
    events = freshness.produced(settings, now - freshness.WINDOW, now)
    assert events.height == EVENTS
    for spec in GOLD_DAY_TABLES:
        commits = freshness.gold_commits(settings, spec, now - freshness.WINDOW, now)
        seconds = freshness.latencies(events, commits).get_column("latency_s")
        assert seconds.null_count() == 0, spec.name
        assert 0 <= seconds.min() <= seconds.max() <= wall, spec.name  # type: ignore[operator]

    measured = freshness.measure(settings)
    assert measured.events == EVENTS
    assert {(t.counted, t.pending, t.buckets[-1]) for t in measured.tables} == {
        (EVENTS, 0, EVENTS)  # every event within 600 s
    }

    code = main(["status", "--format", "prometheus", "--lake-root", settings.lake_root,
                 "--bootstrap", local_broker, "--topics", topic])  # fmt: skip
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert "# TYPE eventlake_event_to_gold_seconds histogram" in out
    for spec in GOLD_DAY_TABLES:
        assert f'eventlake_event_to_gold_seconds_count{{table="{spec.name}"}} {EVENTS}' in out
        assert (
            f'eventlake_event_to_gold_seconds_bucket{{table="{spec.name}",le="+Inf"}} {EVENTS}'
            in out
        )
        assert f'eventlake_event_to_gold_pending_events{{table="{spec.name}"}} 0' in out
    assert any(line.startswith("eventlake_partition_lag{") for line in out)  # the ingest part
    families = {f.name: f.type for f in text_string_to_metric_families("\n".join(out) + "\n")}
    assert families["eventlake_event_to_gold_seconds"] == "histogram"
    assert families["eventlake_partition_lag"] == "gauge"
