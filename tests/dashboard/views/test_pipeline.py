"""Pipeline health and the Event explorer in Streamlit's real AppTest, on hand-made rows; the lag
per partition against a real local broker."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from confluent_kafka import Producer

from dashboard.data import kafka
from dashboard.data.scope import Scope
from eventlake import lake
from eventlake.catalog import (
    AUDIT_RECONCILIATION,
    BRONZE_DEAD_LETTERS,
    BRONZE_EVENTS,
    BRONZE_INGEST_BATCHES,
    GOLD_REVENUE_DAILY,
    SILVER_EVENTS,
)
from eventlake.errors import BrokerUnavailable
from eventlake.log_rules import offset_app_id
from eventlake.settings import Settings
from ingest.tools import broker
from tests.dashboard.conftest import MakeApp, Put


def batch(minutes_ago: float, events: int, ranges: list[tuple[str, int, int, int]]) -> dict:
    """One bronze/ingest_batches row committed `minutes_ago`, taking 250 ms."""
    committed = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return {
        "batch_id": uuid.uuid4().hex, "consumer_id": "c", "committed_at": committed,
        "started_at": committed - timedelta(milliseconds=250), "events": events,
        "dead_letters": 1, "bytes": 100 * events, "events_version": 1, "lag": 0,
        "decode_ms": 20.0, "write_ms": 200.0,
        "offset_ranges": json.dumps(
            [{"topic": t, "partition": p, "first": a, "last": b} for t, p, a, b in ranges]
        ),
    }  # fmt: skip


def dead_letter(code: str, offset: int) -> dict:
    """One bronze/dead_letters row of `code`."""
    return {"kafka_topic": "user_events", "kafka_partition": 0, "kafka_offset": offset,
            "error_code": code, "error_detail": f"{code} at {offset}", "raw": b"\xffnot json",
            "key": b"u1", "ingested_at": datetime.now(UTC)}  # fmt: skip


@pytest.fixture
def pipeline_lake(put: Put, settings: Settings, frames) -> None:
    """Three batches in the last hour, one ten hours ago, bronze's offset of record for
    user_events/0 (ahead of the batches: their rows are buffered), three dead letters, two
    reconciliation runs."""
    events = frames.events([datetime(2024, 3, 1, tzinfo=UTC)])
    lake.append(settings, BRONZE_EVENTS, events, offsets={offset_app_id("user_events", 0): 250})
    put(BRONZE_INGEST_BATCHES, [
        batch(10, 100, [("user_events", 0, 0, 59), ("user_events", 1, 0, 39)]),
        batch(5, 200, [("user_events", 0, 60, 199), ("user_events", 1, 40, 99)]),
        batch(1, 300, [("user_events", 1, 100, 399)]),
        batch(600, 999, [("user_events", 2, 0, 998)]),  # ten hours ago: not in the charts
    ])  # fmt: skip
    put(BRONZE_DEAD_LETTERS, [dead_letter("not_json", 1), dead_letter("not_json", 2),
                              dead_letter("payload_invalid", 3)])  # fmt: skip
    day = date(2024, 3, 1)
    old, new = datetime(2024, 3, 2, 1, tzinfo=UTC), datetime(2024, 3, 3, 1, tzinfo=UTC)
    put(AUDIT_RECONCILIATION, [
        {"checked_at": old, "run_id": "r1", "table": GOLD_REVENUE_DAILY.name, "day": day,
         "rows_compared": 3, "mismatches": 1, "max_abs_difference": 5.0, "healed": True},
        {"checked_at": new, "run_id": "r2", "table": GOLD_REVENUE_DAILY.name, "day": day,
         "rows_compared": 3, "mismatches": 0, "max_abs_difference": 0.0, "healed": False},
        {"checked_at": new, "run_id": "r2", "table": SILVER_EVENTS.name, "day": day,
         "rows_compared": 9, "mismatches": 2, "max_abs_difference": 1.0, "healed": True},
    ])  # fmt: skip


@pytest.mark.usefixtures("pipeline_lake")
def test_pipeline_page_shows_ingest_dead_letters_tables_and_reconciliation(
    app: MakeApp, page
) -> None:
    at = page.open(app, "pipeline.py")

    shown = page.metrics(at)
    assert shown["Events, last 60 min"] == ("600", "")
    assert shown["p90 batch latency"] == ("250 ms", "")
    assert shown["Dead letters, last 60 min"] == ("3", "")
    assert shown["Tables × days checked"] == ("2", "")  # the newest run only
    assert shown["With mismatches"] == ("1", "")
    assert shown["Not healed"] == ("0", "")
    assert page.table(at, "Dead letters by code").select("error_code", "rows").rows() == [
        ("not_json", 2), ("payload_invalid", 1),
    ]  # fmt: skip
    lag = page.table(at, "Lag per partition")
    # 0: the txn of record; 1: the batches of the last hour; 2: moved ten hours ago, no txn
    assert lag.select("partition", "bronze_offset").rows() == [(0, 250), (1, 399)]
    assert lag["lag"].is_null().all()  # no broker here
    assert any("Lag unknown" in c.value for c in at.caption)
    versions = dict(page.table(at, "Tables").select("table", "version").rows())
    assert versions[BRONZE_INGEST_BATCHES.name] == 1 and versions[BRONZE_EVENTS.name] == 1
    assert page.table(at, "Reconciliation runs")["run_id"].to_list() == ["r2", "r1"]


def test_pipeline_page_without_ingest_rows_says_so(app: MakeApp, write_users, page) -> None:
    write_users([(date(2024, 3, 1), 1, 1, 1)])

    at = page.open(app, "pipeline.py")

    captions = " ".join(c.value for c in at.caption)
    assert "No micro-batch committed" in captions and "No reconciliation has run yet" in captions


def test_kafka_end_offsets_give_the_lag_per_partition(
    settings: Settings, local_broker: str
) -> None:
    topic = f"lag_{uuid.uuid4().hex[:8]}"
    mine = dataclasses.replace(settings, kafka_bootstrap=local_broker, topics=(topic,))
    broker.ensure_topics(mine, partitions=3)
    producer = Producer({"bootstrap.servers": local_broker, "linger.ms": 50})
    for partition, n in ((0, 25), (1, 3)):
        for i in range(n):  # batched: the end is not "start of the last batch + 1"
            producer.produce(topic, value=b"x%d" % i, partition=partition)
    producer.flush(10)

    ends = kafka.end_offsets(mine, Scope(partitions=((topic, 0), (topic, 1), (topic, 2))))

    assert ends == {(topic, 0): 25, (topic, 1): 3, (topic, 2): 0}
    assert kafka.lag(19, ends[(topic, 0)]) == 5
    assert kafka.lag(None, ends[(topic, 1)]) == 3
    assert kafka.lag(None, None) is None
    gone = dataclasses.replace(mine, kafka_bootstrap="127.0.0.1:9")
    with pytest.raises(BrokerUnavailable, match="unreachable"):
        kafka.end_offsets(gone, Scope(partitions=((topic, 0),)))


def bronze_row(event_id: str, user: str, ingested_s: int, *, registered: bool = True) -> dict:
    """One bronze/events login of `user`, ingested `ingested_s` seconds after its event time."""
    when = datetime(2024, 3, 1, 12, tzinfo=UTC)
    return {
        "event_id": event_id, "event_type": "login" if registered else "coupon_applied",
        "schema_version": 1, "aggregate_id": user, "event_time": when,
        "event_date": when.date(), "payload": json.dumps({"user_id": user}),
        "registered": registered, "kafka_topic": "user_events", "kafka_partition": 0,
        "kafka_offset": ingested_s, "kafka_timestamp": when,
        "ingested_at": when + timedelta(seconds=ingested_s),
    }  # fmt: skip


@pytest.fixture
def explorer_lake(put: Put, write_users) -> None:
    """u1: e1 twice (re-delivered), an unregistered event; u2: e3, not materialized yet."""
    write_users([(date(2024, 3, 1), 2, 2, 2)])
    put(BRONZE_EVENTS, [bronze_row("e1", "u1", 1), bronze_row("e1", "u1", 5),
                        bronze_row("e2", "u1", 2, registered=False), bronze_row("e3", "u2", 3)])  # fmt: skip
    winner = bronze_row("e1", "u1", 1)
    put(SILVER_EVENTS, [{**winner, "user_id": "u1"}])


@pytest.mark.usefixtures("explorer_lake")
def test_explorer_shows_every_copy_of_an_event_and_what_silver_kept(app: MakeApp, page) -> None:
    at = page.open(app, "explorer.py")
    at.radio(key="explorer_mode").set_value("An event by id").run()
    at.text_input(key="explorer_event_id").set_value("e1").run()

    page.assert_clean(at)
    copies = page.table(at, "Copies")
    assert copies.select("event_id", "kafka_offset", "status").rows() == [
        ("e1", 1, "counted"), ("e1", 5, "duplicate (later copy)"),
    ]  # fmt: skip
    assert at.json[0].value == json.dumps({"user_id": "u1"})
    assert any(c.value.startswith("Feeds: `silver/events`") for c in at.caption)

    at.text_input(key="explorer_event_id").set_value("nope").run()
    assert "No event `nope`" in at.info[0].value


@pytest.mark.usefixtures("explorer_lake")
def test_explorer_shows_the_history_of_a_user(app: MakeApp, page) -> None:
    at = page.open(app, "explorer.py")
    at.text_input(key="explorer_aggregate_id").set_value("u1").run()

    page.assert_clean(at)
    history = page.table(at, "History")
    assert sorted(history.select("event_id", "status").rows()) == [
        ("e1", "counted"), ("e1", "duplicate (later copy)"), ("e2", "unregistered type"),
    ]  # fmt: skip
    assert page.metrics(at)["Events"] == ("3", "")
    assert page.metrics(at)["Duplicates"] == ("1", "")

    at.text_input(key="explorer_aggregate_id").set_value("u2").run()
    assert page.table(at, "History")["status"].to_list() == ["not in silver yet"]


@pytest.mark.usefixtures("explorer_lake")
def test_an_event_id_is_looked_for_in_every_day_unless_the_selected_days_are_asked_for(
    app: MakeApp, write_users, page
) -> None:
    write_users([(date(2024, 5, 20), 1, 1, 1)])  # the range: April 21 - May 20; e1: March 1
    at = page.open(app, "explorer.py")
    at.radio(key="explorer_mode").set_value("An event by id").run()
    at.text_input(key="explorer_event_id").set_value("e1").run()

    page.assert_clean(at)
    assert page.table(at, "Copies")["event_id"].to_list() == ["e1", "e1"]

    at.radio(key="explorer_event_scope").set_value("the selected days").run()

    assert "No event `e1` in bronze/events from 2024-04-21 to 2024-05-20" in at.info[0].value
