"""`KnownTxns`: offsets of record carried across the writer's own commits, and read again from
the Delta log as soon as anybody else committed (the fence must see other writers)."""

from __future__ import annotations

from eventlake import lake
from eventlake.catalog import BRONZE_DEAD_LETTERS
from eventlake.lake import txn_of
from eventlake.settings import Settings
from ingest.write.offsets import KnownTxns


def _append(table, app: str, offset: int) -> int:  # type: ignore[no-untyped-def]
    rows = BRONZE_DEAD_LETTERS.empty()
    return lake.append_to(table, BRONZE_DEAD_LETTERS, rows, offsets={app: offset})


def test_own_commits_are_carried_and_other_commits_are_read_again(settings: Settings) -> None:
    mine = lake.ensure_table(settings, BRONZE_DEAD_LETTERS)
    other = lake.open_table(settings, BRONZE_DEAD_LETTERS)
    assert other is not None
    known = KnownTxns()
    assert known.get(mine, "a") is None

    before = mine.version()
    after = _append(mine, "a", 5)
    known.committed(before, after, {"a": 5})
    assert (known.version, known.get(mine, "a")) == (after, 5)
    assert known.known == {"a": 5}  # carried: no read of the log was needed

    _append(lake.refresh(other, BRONZE_DEAD_LETTERS), "a", 9)  # another writer moves "a"
    lake.refresh(mine, BRONZE_DEAD_LETTERS)
    assert known.get(mine, "a") == 9 == txn_of(mine, "a")

    # A commit of ours rebased over someone else's: nothing is carried.
    _append(lake.refresh(other, BRONZE_DEAD_LETTERS), "b", 1)
    before = mine.version()  # stale: the other commit is not loaded
    after = _append(mine, "a", 12)
    assert after == before + 2
    known.committed(before, after, {"a": 12})
    assert known.version is None
    assert (known.get(mine, "a"), known.get(mine, "b")) == (12, 1)
