"""The catalog's per-layer lists hold exactly the tables of their layer."""

from __future__ import annotations

from eventlake.catalog import (
    GOLD_DAY_TABLES,
    GOLD_TABLES,
    GOLD_WHOLE_TABLES,
    SILVER_DAY_TABLES,
    SILVER_TABLES,
    TABLES,
)


def test_gold_tables_are_every_gold_table_once() -> None:
    assert sorted(t.name for t in GOLD_TABLES) == sorted(
        t.name for t in TABLES if t.layer == "gold"
    )
    assert len({t.name for t in GOLD_TABLES}) == len(GOLD_TABLES)


def test_gold_day_and_whole_tables_split_the_gold_tables() -> None:
    assert (*GOLD_DAY_TABLES, *GOLD_WHOLE_TABLES) == GOLD_TABLES
    assert all(t.day_column for t in GOLD_DAY_TABLES)
    assert not any(t.day_column for t in GOLD_WHOLE_TABLES)


def test_silver_tables_are_every_silver_table_once_each_with_a_grain() -> None:
    assert sorted(t.name for t in SILVER_TABLES) == sorted(
        t.name for t in TABLES if t.layer == "silver"
    )
    assert len({t.name for t in SILVER_TABLES}) == len(SILVER_TABLES)
    assert tuple(t for t in SILVER_TABLES if t.day_column) == SILVER_DAY_TABLES
    assert all(t.grain for t in SILVER_TABLES)  # reconciliation compares rows by it
