"""The ingester against a real broker and real Delta tables: every offset lands exactly once."""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter

import polars as pl
import pytest
from ingest_checks import (
    OFFSET_COLUMNS,
    assert_exactly_once,
    produce,
    true_ends,
    wait_for_commit,
)
from processes import SteadyProducer

from eventlake import lake
from eventlake.catalog import BRONZE_DEAD_LETTERS, BRONZE_EVENTS, BRONZE_INGEST_BATCHES
from eventlake.errors import BrokerUnavailable
from eventlake.settings import Settings
from ingest.consume.ingester import ingest
from ingest.observe.stats import IngestStats
from ingest.simulator import SimulationOptions, SimulationStats, simulate
from ingest.write import bronze, offsets

EVERY_KNOB = SimulationOptions(
    count=4000, days=3, users=300, seed=42, duplicates=0.03, late=0.03, out_of_order=0.05,
    malformed=0.03,
)  # fmt: skip


def simulate_all_knobs(settings: Settings, *, count: int = 4000, seed: int = 42) -> SimulationStats:
    stats = simulate(settings, dataclasses.replace(EVERY_KNOB, count=count, seed=seed))
    assert stats.produced == count
    return stats


def delivered_ends(stats: SimulationStats) -> dict[tuple[str, int], int]:
    return {key: last + 1 for key, last in stats.last_offsets.items()}


def test_every_offset_lands_once_in_events_or_dead_letters(kafka_settings: Settings) -> None:
    stats = simulate_all_knobs(kafka_settings)
    ends = true_ends(kafka_settings)
    # the producer's delivery reports and the broker agree on where each partition ends
    assert {k: v for k, v in ends.items() if v} == delivered_ends(stats)

    run = ingest(kafka_settings, until_idle=True, batch_max_events=700)

    assert run.batches >= 6  # several micro-batches, each with several producer batches
    assert run.events + run.dead_letters == stats.produced == sum(ends.values())
    found = assert_exactly_once(kafka_settings, ends)
    assert found.filter(pl.col("table") == "dead_letters").height == run.dead_letters
    events = lake.scan(kafka_settings, BRONZE_EVENTS).collect()
    assert Counter(dict(events.group_by("event_type").len().iter_rows())) == stats.by_type
    # the same event_id twice: exactly the simulated duplicates
    assert events.height - events["event_id"].n_unique() == stats.duplicates
    dead = lake.scan(kafka_settings, BRONZE_DEAD_LETTERS).collect()
    assert Counter(dict(dead.group_by("error_code").len().iter_rows())) == stats.malformed
    assert len(stats.malformed) == 8  # every rejection code
    assert dead["raw"].null_count() == 0
    too_large = dead.filter(pl.col("error_code") == "too_large")
    assert (too_large["raw"].bin.size() > kafka_settings.max_message_bytes).all()
    assert (dead.filter(pl.col("raw") == b"").height) >= 1  # the empty message, kept as is
    batches = lake.scan(kafka_settings, BRONZE_INGEST_BATCHES).sort("committed_at").collect()
    assert batches.height == run.batches
    assert batches["events"].sum() == run.events
    assert batches["dead_letters"].sum() == run.dead_letters
    assert batches["lag"].to_list()[-1] == 0
    assert batches["lag"].to_list()[0] > 0
    assert (batches["events_version"] == pl.int_range(1, batches.height + 1, eager=True)).all()


def test_txn_version_of_each_partition_is_its_last_offset(kafka_settings: Settings) -> None:
    simulate_all_knobs(kafka_settings, count=1500)
    ingest(kafka_settings, until_idle=True, batch_max_events=400)
    ends = true_ends(kafka_settings)
    committed = offsets.txn_versions(kafka_settings, BRONZE_EVENTS, ends)
    assert committed == {key: end - 1 for key, end in ends.items()}  # -1: an empty partition
    # dead letters record the batch's last offset for partitions that had any
    dead_txn = offsets.txn_versions(kafka_settings, BRONZE_DEAD_LETTERS, ends)
    dead = lake.scan(kafka_settings, BRONZE_DEAD_LETTERS).collect()
    for (topic, partition), version in dead_txn.items():
        mine = dead.filter(
            (pl.col("kafka_topic") == topic) & (pl.col("kafka_partition") == partition)
        )
        if mine.height:
            assert mine["kafka_offset"].max() <= version <= committed[(topic, partition)]
        else:
            assert version == offsets.NONE


def test_commit_metadata_lists_the_event_dates_touched(kafka_settings: Settings) -> None:
    simulate_all_knobs(kafka_settings, count=1500)
    run = ingest(kafka_settings, until_idle=True, batch_max_events=300)
    table = lake.open_table(kafka_settings, BRONZE_EVENTS)
    assert table is not None
    commits = [c for c in table.history() if c.get("operation") == "WRITE"]
    assert len(commits) == run.batches >= 4
    previous = BRONZE_EVENTS.empty()
    for commit in sorted(commits, key=lambda c: c["version"]):
        rows = lake.scan(kafka_settings, BRONZE_EVENTS, version=commit["version"]).collect()
        added = rows.join(previous, on=OFFSET_COLUMNS, how="anti")
        assert added.height > 0
        dates = sorted({d.isoformat() for d in added["event_date"]})
        assert commit[lake.EVENT_DATES_KEY] == ",".join(dates)
        previous = rows
    all_dates = lake.scan(kafka_settings, BRONZE_EVENTS).select("event_date").unique().collect()
    assert all_dates.height >= 4  # three days of history plus late events


def test_restarts_write_nothing_twice_and_pick_up_exactly_the_new_offsets(
    kafka_settings: Settings,
) -> None:
    simulate_all_knobs(kafka_settings, count=1200, seed=1)
    first = ingest(kafka_settings, until_idle=True)
    assert first.events + first.dead_letters == 1200
    version = lake.open_table(kafka_settings, BRONZE_EVENTS).version()

    again = ingest(kafka_settings, until_idle=True)
    assert (again.batches, again.events, again.dead_letters) == (0, 0, 0)
    # Kafka's committed offsets are not what positions us: a brand-new group agrees
    fresh_group = dataclasses.replace(kafka_settings, group_id=kafka_settings.group_id + "-new")
    assert ingest(fresh_group, until_idle=True).batches == 0
    assert lake.open_table(kafka_settings, BRONZE_EVENTS).version() == version

    simulate_all_knobs(kafka_settings, count=800, seed=2)
    more = ingest(kafka_settings, until_idle=True)
    assert more.events + more.dead_letters == 800
    assert_exactly_once(kafka_settings, true_ends(kafka_settings))


def test_a_crash_between_dead_letters_and_events_still_gives_exactly_once(
    kafka_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    stats = simulate_all_knobs(kafka_settings, count=3000)
    real_write_events, real_write_dead_letters = bronze.write_events, bronze.write_dead_letters
    dead_letter_commits = 0

    def count_dead_letter_commits(*args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal dead_letter_commits
        dead_letter_commits += 1
        return real_write_dead_letters(*args, **kwargs)

    def crash_after_the_second_dead_letter_commit(*args, **kwargs):  # type: ignore[no-untyped-def]
        if dead_letter_commits >= 2:
            raise SystemExit("simulated crash after the dead letters of a batch were committed")
        return real_write_events(*args, **kwargs)

    monkeypatch.setattr(bronze, "write_dead_letters", count_dead_letter_commits)
    monkeypatch.setattr(bronze, "write_events", crash_after_the_second_dead_letter_commit)
    with pytest.raises(SystemExit, match="simulated crash"):
        ingest(kafka_settings, until_idle=True, batch_max_events=500)
    monkeypatch.undo()

    ends = true_ends(kafka_settings)
    done = offsets.txn_versions(kafka_settings, BRONZE_EVENTS, ends)
    dead_done = offsets.txn_versions(kafka_settings, BRONZE_DEAD_LETTERS, ends)
    # the crash left dead letters committed beyond the events of some partition
    assert any(dead_done[key] > done[key] for key in ends)

    # restart with other batch boundaries: smaller batches re-read the crashed batch in parts
    ingest(kafka_settings, until_idle=True, batch_max_events=180)
    found = assert_exactly_once(kafka_settings, ends)
    assert found.filter(pl.col("table") == "dead_letters").height == sum(stats.malformed.values())


def test_stop_event_commits_the_current_batch_and_a_restart_finishes(
    kafka_settings: Settings,
) -> None:
    stop = threading.Event()
    result: list[IngestStats] = []
    runner = threading.Thread(
        target=lambda: result.append(ingest(kafka_settings, stop_event=stop, batch_max_seconds=0.2))
    )
    runner.start()
    producer = SteadyProducer(kafka_settings, rate=3_000)  # the stream goes on throughout
    try:
        version = wait_for_commit(kafka_settings, runner.is_alive)
        wait_for_commit(kafka_settings, runner.is_alive, after=version)
    finally:
        stop.set()  # in the middle of the stream
        runner.join(timeout=30)
        producer.stop()
    assert not runner.is_alive() and len(result) == 1
    assert result[0].batches >= 2 and result[0].events > 0
    # what it committed before stopping is a consistent prefix of every partition
    ends = true_ends(kafka_settings)
    done = offsets.txn_versions(kafka_settings, BRONZE_EVENTS, ends)
    assert_exactly_once(kafka_settings, {key: last + 1 for key, last in done.items()})
    assert done != {key: end - 1 for key, end in ends.items()}  # it stopped before the end

    ingest(kafka_settings, until_idle=True)
    assert_exactly_once(kafka_settings, ends)


def test_missing_topics_are_a_clear_error(kafka_settings: Settings) -> None:
    missing = dataclasses.replace(kafka_settings, topics=("no_such_topic_here",))
    with pytest.raises(BrokerUnavailable, match="no_such_topic_here do not exist"):
        ingest(missing, until_idle=True)


def test_messages_of_every_kind_produced_by_hand(kafka_settings: Settings) -> None:
    topic = kafka_settings.topics[0]
    raw = [
        b'{"event_id":"a","event_type":"login","aggregate_id":"u","timestamp":1700000000000,'
        b'"payload":{"user_id":"u"}}',
        b"",
        b"\xc3\x28",
        b"[]",
        b'{"event_id":"b","event_type":"new_type","aggregate_id":"u",'
        b'"timestamp":"2024-02-29T12:00:00+01:00","payload":{}}',
    ]
    produce(kafka_settings, [(topic, b"u", value) for value in raw], partition=2)
    produce(kafka_settings, [(topic, None, b"{}"), (topic, None, b"nope")], partition=5)
    run = ingest(kafka_settings, until_idle=True)
    assert (run.events, run.dead_letters) == (2, 5)
    # a partition that held only dead letters still moves its txn in bronze/events
    done = offsets.txn_versions(kafka_settings, BRONZE_EVENTS, [(topic, 2), (topic, 5)])
    assert done == {(topic, 2): 4, (topic, 5): 1}
    assert ingest(kafka_settings, until_idle=True).batches == 0
    events = lake.scan(kafka_settings, BRONZE_EVENTS).sort("kafka_offset").collect()
    assert events.select("event_id", "registered", "kafka_partition", "kafka_offset").rows() == [
        ("a", True, 2, 0),
        ("b", False, 2, 4),
    ]
    dead = lake.scan(kafka_settings, BRONZE_DEAD_LETTERS).collect()
    assert sorted(
        dead.select("kafka_partition", "kafka_offset", "key", "raw", "error_code").rows()
    ) == [
        (2, 1, b"u", b"", "not_json"),
        (2, 2, b"u", b"\xc3\x28", "not_json"),
        (2, 3, b"u", b"[]", "not_an_object"),
        (5, 0, None, b"{}", "missing_field"),
        (5, 1, None, b"nope", "not_json"),
    ]
