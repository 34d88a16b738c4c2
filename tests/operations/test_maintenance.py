"""Lake housekeeping on real Delta tables: compaction keeps every row, vacuum frees old files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from eventlake import lake
from eventlake.catalog import GOLD_DAILY_ACTIVE_USERS as DAU
from eventlake.settings import Settings
from operations import maintenance

DAY1, DAY2 = date(2026, 11, 1), date(2026, 11, 2)


def write_small_files(settings: Settings, n: int) -> None:
    for i in range(n):
        day = DAY1 if i % 2 == 0 else DAY2
        frame = pl.DataFrame(
            {"day": [day], "dau": [i], "wau": [i], "mau": [i], "stickiness": [0.5]}
        )
        lake.append(settings, DAU, frame)


def test_files_per_day_and_days_to_compact(settings: Settings) -> None:
    assert maintenance.files_per_day(settings, DAU) == {}
    write_small_files(settings, 10)
    assert maintenance.files_per_day(settings, DAU) == {DAY1: 5, DAY2: 5}
    assert maintenance.days_to_compact(settings, DAU, before=DAY2, min_files=5) == [DAY1]
    assert maintenance.days_to_compact(settings, DAU, before=DAY2, min_files=6) == []


def test_compaction_keeps_every_row_and_marks_its_commit(settings: Settings) -> None:
    write_small_files(settings, 10)
    before = lake.scan(settings, DAU).collect().sort("dau")
    result = maintenance.compact_day(settings, DAU, DAY1)
    assert (result.files_removed, result.files_added) == (5, 1)
    assert maintenance.files_per_day(settings, DAU) == {DAY1: 1, DAY2: 5}
    assert_frame_equal(lake.scan(settings, DAU).collect().sort("dau"), before)
    last = lake.open_table(settings, DAU).history(1)[0]  # type: ignore[union-attr]
    assert last["operation"] == "OPTIMIZE" and last[maintenance.MAINTENANCE_KEY] == "compact"


def test_vacuum_removes_only_unreferenced_files_and_checkpoint_works(settings: Settings) -> None:
    write_small_files(settings, 6)
    maintenance.compact_day(settings, DAU, DAY1)
    version = maintenance.checkpoint(settings, DAU)
    assert version == lake.open_table(settings, DAU).version()  # type: ignore[union-attr]
    assert maintenance.vacuum(settings, DAU, retention_hours=0, dry_run=True) != []
    removed = maintenance.vacuum(settings, DAU, retention_hours=0)
    assert len(removed) == 3  # the three small files of DAY1 that compaction replaced
    assert lake.scan(settings, DAU).collect().height == 6
    on_disk = {str(p) for p in Path(lake.table_uri(settings, DAU)).rglob("*.parquet")}
    on_disk = {p for p in on_disk if "_delta_log" not in p}
    assert on_disk == set(lake.open_table(settings, DAU).file_uris())  # type: ignore[union-attr]
