"""Event-to-gold latency from hand-built Delta tables: bronze rows with chosen produce times,
ingest batches mapping their offsets to bronze versions, and gold commits recording the bronze
version they reflect (docs/operations.md, "Event to gold latency")."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
from bronze_log_rows import event, login
from prometheus_client.parser import text_string_to_metric_families

from eventlake import lake
from eventlake.catalog import (
    BRONZE_EVENTS,
    BRONZE_INGEST_BATCHES,
    GOLD_DAILY_ACTIVE_USERS,
    GOLD_DAY_TABLES,
    GOLD_REVENUE_DAILY,
    TableSpec,
)
from eventlake.log_rules import GOLD_BRONZE_KEY, decode_day_versions, encode_day_versions
from eventlake.settings import Settings
from operations import freshness

D = datetime.now(UTC).date() - timedelta(days=3)
D1, D2 = D + timedelta(days=1), D + timedelta(days=2)


def batch(version: int, first: int, last: int, now: datetime) -> dict:
    """One bronze/ingest_batches row committed at `now`: offsets [first, last] of
    user_events/0 in bronze `version`."""
    ranges = [{"topic": "user_events", "partition": 0, "first": first, "last": last}]
    return {"batch_id": uuid.uuid4().hex, "consumer_id": "c", "started_at": now,
            "committed_at": now, "events": last - first + 1, "dead_letters": 0, "bytes": 1,
            "offset_ranges": json.dumps(ranges), "events_version": version, "lag": 0,
            "decode_ms": 1.0, "write_ms": 1.0}  # fmt: skip


def gold_commit(settings: Settings, spec: TableSpec, versions: dict[date, int]) -> datetime:
    """Rewrites the days of `versions` in `spec` recording them; returns the commit's time."""
    first, last = min(versions), max(versions)
    metadata = {GOLD_BRONZE_KEY: encode_day_versions(versions)}
    version = lake.replace_days(settings, spec, spec.empty(), first, last, metadata=metadata)
    table = lake.open_table(settings, spec)
    assert table is not None
    (entry,) = [e for e in table.history() if e["version"] == version]
    return datetime.fromtimestamp(entry["timestamp"] / 1000, UTC)


def put_bronze(settings: Settings, rows: list[dict]) -> int:
    return lake.append(settings, BRONZE_EVENTS, pl.DataFrame(rows, schema=BRONZE_EVENTS.schema))


def test_day_versions_round_trip_as_runs_of_days() -> None:
    versions = {D: 4, D1: 4, D2: 5, D + timedelta(days=5): 5}
    text = encode_day_versions(versions)
    assert json.loads(text) == [[D.isoformat(), D1.isoformat(), 4], [D2.isoformat(), D2.isoformat(), 5],
                                [(D + timedelta(days=5)).isoformat()] * 2 + [5]]  # fmt: skip
    assert decode_day_versions(text) == [
        (D, D1, 4),
        (D2, D2, 5),
        (D + timedelta(days=5),) * 2 + (5,),
    ]


def test_latencies_buckets_and_pending_from_hand_built_commits(settings: Settings) -> None:
    # Gold: revenue_daily counts bronze v1 of D at t1, v2 of D..D1 at t2; a later commit of D
    # reflecting v1 again does not move what t2 counted. DAU never reflects v2.
    t1 = gold_commit(settings, GOLD_REVENUE_DAILY, {D: 1})
    t2 = gold_commit(settings, GOLD_REVENUE_DAILY, {D: 2, D1: 2})
    gold_commit(settings, GOLD_REVENUE_DAILY, {D: 1})
    dau_t = gold_commit(settings, GOLD_DAILY_ACTIVE_USERS, {D: 1, D1: 1})
    now = t2 + timedelta(seconds=10)
    window_start = now - freshness.WINDOW

    def row(event_id: str, day: date, produced: datetime, offset: int, **kw: object) -> dict:
        return login(event_id, "u1", datetime.combine(day, datetime.min.time(), UTC),
                     offset=offset, ingested_at=produced, **kw)  # fmt: skip

    v1 = put_bronze(settings, [
        row("a", D, t1 - timedelta(seconds=3), 1),
        row("b", D, t1 - timedelta(seconds=7.5), 2),
        row("old", D, window_start - timedelta(seconds=1), 3),  # before the window
        event("x", "coupon_applied", datetime.combine(D, datetime.min.time(), UTC),
              {"user_id": "u7"}, offset=4, ingested_at=t1 - timedelta(seconds=1)),  # unregistered
    ])  # fmt: skip
    v2 = put_bronze(settings, [
        row("c", D1, t2 - timedelta(seconds=42), 5),
        row("d", D2, t2 - timedelta(seconds=30), 6),  # a day no commit wrote
        row("a", D, t2 - timedelta(seconds=1), 7),  # a later copy of "a": counts once
    ])  # fmt: skip
    v3 = put_bronze(settings, [row("e", D, now - timedelta(seconds=5), 8)])  # no gold has v3
    assert (v1, v2, v3) == (1, 2, 3)
    lake.append(settings, BRONZE_INGEST_BATCHES,
                pl.DataFrame([batch(1, 1, 4, t1), batch(2, 5, 7, t2), batch(3, 8, 8, now)],
                             schema=BRONZE_INGEST_BATCHES.schema))  # fmt: skip

    result = freshness.measure(settings, now=now)

    assert result.events == 5  # a, b, c, d, e
    assert [t.table for t in result.tables] == [t.name for t in GOLD_DAY_TABLES]
    revenue = next(t for t in result.tables if t.table == GOLD_REVENUE_DAILY.name)
    assert revenue.counted == 3 and revenue.pending == 2
    # a: 3 s, b: 7.5 s (both at t1), c: 42 s (at t2)
    assert revenue.sum_s == pytest.approx(52.5, abs=1e-3)
    assert (revenue.p50_s, revenue.p99_s, revenue.max_s) == pytest.approx(
        (7.5, 42.0, 42.0), abs=1e-3
    )
    assert dict(zip(freshness.BUCKETS, revenue.buckets, strict=True)) == {
        1: 0, 2: 0, 5: 1, 10: 2, 15: 2, 20: 2, 30: 2, 45: 3, 60: 3, 90: 3, 120: 3, 300: 3, 600: 3,
    }  # fmt: skip
    assert revenue.oldest_pending_s == pytest.approx(40.0, abs=1e-3)  # d, produced t2 - 30 s
    dau = next(t for t in result.tables if t.table == GOLD_DAILY_ACTIVE_USERS.name)
    assert (dau.counted, dau.pending) == (2, 3)  # a and b at dau_t; c, d, e pending
    assert dau.sum_s == pytest.approx(
        2 * dau_t.timestamp() - (t1 - timedelta(seconds=3)).timestamp()
        - (t1 - timedelta(seconds=7.5)).timestamp(), abs=1e-3)  # fmt: skip
    untouched = [t for t in result.tables if t.table not in (GOLD_REVENUE_DAILY.name,
                                                              GOLD_DAILY_ACTIVE_USERS.name)]  # fmt: skip
    assert {(t.counted, t.pending, t.p99_s) for t in untouched} == {(0, 5, None)}

    exposition = freshness.prometheus_text(result)
    name = "eventlake_event_to_gold_seconds"
    table = GOLD_REVENUE_DAILY.name
    assert f'{name}_bucket{{table="{table}",le="5"}} 1' in exposition.splitlines()
    assert f'{name}_bucket{{table="{table}",le="+Inf"}} 3' in exposition.splitlines()
    assert f'{name}_count{{table="{table}"}} 3' in exposition.splitlines()
    assert f"# TYPE {name} histogram" in exposition.splitlines()
    families = {f.name: f for f in text_string_to_metric_families(exposition)}  # a real parser
    assert families[name].type == "histogram"
    assert len(families[name].samples) == len(GOLD_DAY_TABLES) * (len(freshness.BUCKETS) + 3)
    assert f'eventlake_event_to_gold_pending_events{{table="{table}"}} 2' in exposition
    assert f'eventlake_event_to_gold_oldest_pending_seconds{{table="{table}"}} 40' in exposition
    text = freshness.render(result)
    assert "5 events produced in the last 60 min" in text
    assert any(
        line.split()[:5] == [table, "3", "7.5", "42.0", "42.0"] for line in text.splitlines()
    )


def test_as_of_an_earlier_moment_later_commits_do_not_count(settings: Settings) -> None:
    t1 = gold_commit(settings, GOLD_REVENUE_DAILY, {D: 1})
    put_bronze(settings, [login("a", "u1", datetime.combine(D, datetime.min.time(), UTC),
                                offset=1, ingested_at=t1 - timedelta(seconds=2))])  # fmt: skip
    lake.append(settings, BRONZE_INGEST_BATCHES,
                pl.DataFrame([batch(1, 1, 1, t1 - timedelta(seconds=1.5))], schema=BRONZE_INGEST_BATCHES.schema))  # fmt: skip

    before = freshness.measure(settings, now=t1 - timedelta(seconds=1))
    after = freshness.measure(settings, now=t1 + timedelta(seconds=1))

    revenue = {r.table: r for r in before.tables}[GOLD_REVENUE_DAILY.name]
    assert (revenue.counted, revenue.pending) == (0, 1)
    assert revenue.oldest_pending_s == pytest.approx(1.0, abs=1e-3)
    revenue = {r.table: r for r in after.tables}[GOLD_REVENUE_DAILY.name]
    assert (revenue.counted, revenue.pending, revenue.max_s) == (1, 0, pytest.approx(2.0, abs=1e-3))


def test_an_empty_lake_has_no_events(settings: Settings) -> None:
    result = freshness.measure(settings)
    assert result.events == 0
    assert all((t.counted, t.pending, t.p50_s, t.oldest_pending_s) == (0, 0, None, None)
               for t in result.tables)  # fmt: skip
    assert 'eventlake_event_to_gold_seconds_count{table="gold/revenue_daily"} 0' in (
        freshness.prometheus_text(result)
    )


def test_commits_since_pages_back_to_the_window_and_stops_at_the_limit(settings: Settings) -> None:
    # 70 commits: more than the first page of 64; the window starts after the fifth.
    times = [gold_commit(settings, GOLD_REVENUE_DAILY, {D: v}) for v in range(1, 71)]
    since = times[4] + timedelta(microseconds=1)  # history times are in milliseconds

    commits = freshness.commits_since(settings, GOLD_REVENUE_DAILY, since)
    newest = freshness.commits_since(settings, GOLD_REVENUE_DAILY, since, limit=10)

    in_window = [t for t in times if t >= since]
    assert [c["timestamp"] for c in commits] == in_window[::-1]  # newest first
    assert [decode_day_versions(str(c[GOLD_BRONZE_KEY])) for c in commits[:2]] == [
        [(D, D, 70)],
        [(D, D, 69)],
    ]
    assert [c["version"] for c in newest] == list(range(70, 60, -1))  # v0 created the table
    assert freshness.commits_since(settings, GOLD_DAILY_ACTIVE_USERS, since) == []  # no table
