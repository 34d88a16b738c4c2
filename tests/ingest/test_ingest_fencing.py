"""Fencing, writer against writer, on real Delta tables: an ingester that lost a partition to another
never commits what the other wrote, and never leaves a gap. Deterministic interleavings; the
fault tests play the same with real processes."""

from __future__ import annotations

import pytest
from confluent_kafka import TIMESTAMP_CREATE_TIME, Message
from ingest_checks import assert_exactly_once

from eventlake import lake, log_rules
from eventlake.settings import Settings
from ingest.consume.batch import Slice
from ingest.decode.rows import decode
from ingest.simulator import SimulationOptions, messages
from ingest.write import bronze, offsets
from ingest.write.bronze import BronzeWriter, SealedBatch, TableBehind

NOW_MS = 1_750_000_000_000
KEY = ("t", 0)


@pytest.fixture(scope="module")
def stream() -> list[Message]:
    """100 messages of partition t/0, a few of them malformed."""
    options = SimulationOptions(days=3, users=50, malformed=0.1)
    values = messages(options, seed=4, topics=("t",), max_message_bytes=4096, clock=lambda: NOW_MS)
    return [
        Message(
            topic="t",
            partition=0,
            offset=i,
            key=b"k",
            value=m.value,
            timestamp=(TIMESTAMP_CREATE_TIME, NOW_MS),
        )
        for i, m in zip(range(100), values, strict=False)
    ]


def sealed(stream: list[Message], first: int, last: int, *, prev: int) -> SealedBatch:
    """Offsets first..last of the stream as one batch continuing from `prev`."""
    part = stream[first : last + 1]
    decoded = decode(part, now_ms=NOW_MS, max_bytes=4096, ingested_at_us=NOW_MS * 1000)
    return SealedBatch(
        seq=first,
        decoded=decoded,
        slices={KEY: Slice(prev, first, last)},
        messages=len(part),
        started_at_us=0,
        first_seen=0.0,
        decode_ms=0.0,
        lag=None,
    )


def of_record(settings: Settings) -> int:
    from eventlake.catalog import BRONZE_EVENTS

    return offsets.txn_versions(settings, BRONZE_EVENTS, [KEY])[KEY]


def test_a_writer_that_lost_its_partition_commits_nothing_of_it(
    settings: Settings, stream: list[Message]
) -> None:
    old_owner, new_owner = BronzeWriter(settings), BronzeWriter(settings)
    stale = sealed(stream, 0, 59, prev=offsets.NONE)  # read before the partition moved
    new_owner.commit(sealed(stream, 0, 79, prev=offsets.NONE))

    done = old_owner.commit(stale)
    assert done.fenced == {KEY: 79}
    assert (done.events_version, done.dead_letters_version, done.of_record) == (None, None, {})
    assert of_record(settings) == 79

    # its next batch overlaps what the new owner wrote: only the rows above are committed
    done = old_owner.commit(sealed(stream, 60, 99, prev=59))
    assert done.fenced == {KEY: 79} and done.of_record == {KEY: 99}
    assert done.events + done.dead_letters == 20
    assert_exactly_once(settings, {KEY: 100})


def test_a_commit_made_between_the_check_and_the_write_is_refused_then_fenced(
    settings: Settings, stream: list[Message], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other writer commits right after this one read the offsets of record: delta-rs
    refuses the second commit (same txn app id), and the retry sees the new offsets."""
    zombie, owner = BronzeWriter(settings), BronzeWriter(settings)
    real_write_events = bronze.write_events
    interleaved = False

    def write_events_after_the_owner(*args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal interleaved
        if not interleaved:
            interleaved = True
            owner.commit(sealed(stream, 0, 79, prev=offsets.NONE))
        return real_write_events(*args, **kwargs)

    monkeypatch.setattr(bronze, "write_events", write_events_after_the_owner)
    batch = sealed(stream, 0, 59, prev=offsets.NONE)
    with pytest.raises(lake.ConcurrentCommit):
        zombie.commit(batch)  # its dead letters went in, its events did not
    monkeypatch.undo()

    done = zombie.commit(batch)  # what the pipeline does next: re-read, then fence
    assert done.fenced == {KEY: 79} and done.of_record == {}
    assert_exactly_once(settings, {KEY: 80})


def test_a_writer_continues_exactly_where_another_stopped(
    settings: Settings, stream: list[Message]
) -> None:
    first, second = BronzeWriter(settings), BronzeWriter(settings)
    first.commit(sealed(stream, 0, 49, prev=offsets.NONE))
    done = second.commit(sealed(stream, 50, 99, prev=49))  # resumed from the log: not fenced
    assert done.fenced == {} and done.of_record == {KEY: 99}
    assert_exactly_once(settings, {KEY: 100})


def test_offsets_of_record_going_back_stop_the_writer(
    settings: Settings, stream: list[Message]
) -> None:
    w = BronzeWriter(settings)
    w.commit(sealed(stream, 0, 49, prev=offsets.NONE))
    lake.append(
        settings,
        bronze.BRONZE_EVENTS,
        bronze.BRONZE_EVENTS.empty(),
        offsets={log_rules.offset_app_id(*KEY): 9},
    )  # e.g. reset-offsets while it ran
    with pytest.raises(TableBehind, match="t/0: bronze/events records offset 9, below 49"):
        w.commit(sealed(stream, 50, 99, prev=49))
