"""The Pipeline health page's event-to-gold chart in Streamlit's real AppTest, on hand-built
bronze rows, ingest batches and gold commits (docs/operations.md, "Event to gold latency")."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from eventlake import lake
from eventlake.catalog import (
    BRONZE_EVENTS,
    BRONZE_INGEST_BATCHES,
    GOLD_DAY_TABLES,
    GOLD_REVENUE_DAILY,
    TableSpec,
)
from eventlake.log_rules import GOLD_BRONZE_KEY, encode_day_versions
from eventlake.settings import Settings
from operations import freshness

Put = Callable[[TableSpec, list[dict]], int]
DAY = datetime.now(UTC).date() - timedelta(days=2)


def gold_commit(settings: Settings, spec: TableSpec, day: date, version: int) -> datetime:
    """Rewrites `day` of `spec` reflecting bronze `version`; returns the commit's time."""
    metadata = {GOLD_BRONZE_KEY: encode_day_versions({day: version})}
    lake.replace_days(settings, spec, spec.empty(), day, day, metadata=metadata)
    (newest, *_) = freshness.commits_since(settings, spec, datetime.now(UTC) - timedelta(minutes=5))
    assert isinstance(newest["timestamp"], datetime)
    return newest["timestamp"]


def bronze(event_id: str, offset: int, produced: datetime) -> dict:
    when = datetime.combine(DAY, datetime.min.time(), UTC)
    return {"event_id": event_id, "event_type": "login", "schema_version": 1,
            "aggregate_id": "u1", "event_time": when, "event_date": DAY,
            "payload": json.dumps({"user_id": "u1"}), "registered": True,
            "kafka_topic": "user_events", "kafka_partition": 0, "kafka_offset": offset,
            "kafka_timestamp": produced, "ingested_at": produced}  # fmt: skip


def batch(version: int, first: int, last: int, committed: datetime) -> dict:
    ranges = [{"topic": "user_events", "partition": 0, "first": first, "last": last}]
    return {"batch_id": uuid.uuid4().hex, "consumer_id": "c", "started_at": committed,
            "committed_at": committed, "events": last - first + 1, "dead_letters": 0,
            "bytes": 1, "offset_ranges": json.dumps(ranges), "events_version": version,
            "lag": 0, "decode_ms": 1.0, "write_ms": 1.0}  # fmt: skip


def test_pipeline_page_charts_p50_p99_max_per_gold_table_and_the_pending_events(
    settings: Settings, put: Put, app: Callable[[], AppTest], page
) -> None:
    # Every gold day table counts bronze v1 of DAY; revenue_daily first, at t1.
    t1 = gold_commit(settings, GOLD_REVENUE_DAILY, DAY, 1)
    for spec in GOLD_DAY_TABLES:
        if spec != GOLD_REVENUE_DAILY:
            gold_commit(settings, spec, DAY, 1)
    produced = [t1 - timedelta(seconds=s) for s in (3, 5, 20)]
    assert put(BRONZE_EVENTS, [bronze(f"e{i}", i, p) for i, p in enumerate(produced)]) == 1
    assert put(BRONZE_EVENTS, [bronze("late", 3, t1 - timedelta(seconds=1))]) == 2  # in no gold
    put(BRONZE_INGEST_BATCHES, [batch(1, 0, 2, t1), batch(2, 3, 3, t1)])

    at = app().run().switch_page("views/pipeline.py").run()

    page.assert_clean(at)
    shown = page.metrics(at)
    assert shown["Events produced, last 60 min"] == ("4", "")
    assert shown["Pending in gold"] == ("1", "")
    age = float(shown["Oldest pending"][0].removesuffix(" s").replace(",", ""))
    assert 1 <= age < 300  # "late", produced 1 s before t1
    (bars,) = [
        data[0]
        for _, data in page.charts(at)
        if data and {"table", "measure", "seconds"} <= set(data[0].columns)
    ]
    assert set(bars["table"]) == {t.name for t in GOLD_DAY_TABLES}
    revenue = dict(bars.filter(pl.col("table") == GOLD_REVENUE_DAILY.name)
                   .select("measure", "seconds").rows())  # fmt: skip
    assert revenue == pytest.approx({"p50": 5.0, "p99": 20.0, "max": 20.0}, abs=1e-3)


def test_pipeline_page_without_recent_events_says_so(
    settings: Settings, app: Callable[[], AppTest], page
) -> None:
    gold_commit(settings, GOLD_REVENUE_DAILY, DAY, 1)

    at = app().run().switch_page("views/pipeline.py").run()

    page.assert_clean(at)
    assert any("No event produced in the last 60 minutes" in c.value for c in at.caption)
    assert "Pending in gold" not in page.metrics(at)
