"""Delta I/O of the lake module, on real tables in a temporary folder."""

from __future__ import annotations

import dataclasses
import threading
from datetime import date
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from eventlake import lake
from eventlake.catalog import BRONZE_DEAD_LETTERS, BRONZE_EVENTS, GOLD_DAILY_ACTIVE_USERS
from eventlake.errors import LakeError
from eventlake.settings import Settings


def create_at_once(settings: Settings, writers: int) -> list[BaseException]:
    """Has `writers` threads create bronze/events at the same moment; returns their errors."""
    start = threading.Barrier(writers)
    errors: list[BaseException] = []

    def create() -> None:
        start.wait()
        try:
            lake.ensure_table(settings, BRONZE_EVENTS)
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=create) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_processes_creating_the_same_table_at_once_all_get_it(
    settings: Settings, tmp_path: Path
) -> None:
    # Ingesters of one group start together and each creates bronze/events if it is missing.
    for attempt in range(8):
        s = dataclasses.replace(settings, lake_root=str(tmp_path / f"lake{attempt}"))
        assert create_at_once(s, 4) == []
        assert lake.scan(s, BRONZE_EVENTS).collect_schema() == BRONZE_EVENTS.schema


def test_a_write_the_table_cannot_hold_is_permanent_a_lost_race_is_not(settings: Settings) -> None:
    # What stops the ingester at once (ingest/write/writer_thread.py) instead of retrying.
    other = pl.Schema({"event_id": pl.Int64(), "event_date": pl.Date()})
    lake.ensure_table(settings, dataclasses.replace(BRONZE_EVENTS, schema=other))
    with pytest.raises(LakeError) as refused:
        lake.append(settings, BRONZE_EVENTS, BRONZE_EVENTS.empty())
    assert lake.is_permanent(refused.value)

    a, b = (lake.ensure_table(settings, BRONZE_DEAD_LETTERS) for _ in range(2))
    lake.append_to(a, BRONZE_DEAD_LETTERS, BRONZE_DEAD_LETTERS.empty(), offsets={"t/0": 1})
    with pytest.raises(lake.ConcurrentCommit) as lost:
        lake.append_to(b, BRONZE_DEAD_LETTERS, BRONZE_DEAD_LETTERS.empty(), offsets={"t/0": 1})
    assert not lake.is_permanent(lost.value)


def test_the_file_list_and_history_come_from_the_log(settings: Settings) -> None:
    rows = pl.DataFrame(
        {"day": [date(2026, 1, 1), date(2026, 1, 2)], "dau": [1, 2], "wau": [1, 2], "mau": [1, 2]}
    ).with_columns(stickiness=pl.lit(1.0))
    lake.replace_days(settings, GOLD_DAILY_ACTIVE_USERS, rows, date(2026, 1, 1), date(2026, 1, 2))
    table = lake.open_table(settings, GOLD_DAILY_ACTIVE_USERS)
    assert table is not None
    files = lake.data_files(table, GOLD_DAILY_ACTIVE_USERS)
    assert (
        sorted(files.get_column("partition.day").cast(pl.Date).to_list()) == rows["day"].to_list()
    )
    assert files.get_column("num_records").sum() == 2
    assert [h["version"] for h in lake.history(table, GOLD_DAILY_ACTIVE_USERS, 5)] == [1, 0]


def test_a_frame_is_written_as_it_is_day_by_day(settings: Settings) -> None:
    # The DuckDB reference (bench/) writes its own types: they are compared, not conformed.
    spec = GOLD_DAILY_ACTIVE_USERS
    days = pa.table(
        {"day": [date(2026, 1, 1), date(2026, 1, 2)], "dau": pa.array([1, 2], pa.int32())}
    )
    lake.overwrite_as_is(settings, spec, days)
    lake.overwrite_as_is(
        settings, spec, pa.table({"day": [date(2026, 1, 2)], "dau": pa.array([5], pa.int32())}),
        (date(2026, 1, 2), date(2026, 1, 2)),
    )  # fmt: skip
    written = pl.read_delta(lake.table_uri(settings, spec)).sort("day")
    assert written.schema == pl.Schema({"day": pl.Date(), "dau": pl.Int32()})
    assert written.rows() == [(date(2026, 1, 1), 1), (date(2026, 1, 2), 5)]
