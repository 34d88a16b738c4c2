"""Healing drifted read-model partitions: re-materialize exactly them on the real lake, and
rebuild their silver days from the log when that is not enough."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date

import dagster as dg

from eventlake.catalog import GOLD_TABLES, SILVER_USERS, TableSpec
from eventlake.settings import Settings
from operations.reconcile_compare import PartitionDiff, compare_table
from orchestration.materialize import READ_MODELS, materialize_days
from orchestration.partitions import day_ranges

SILVER_DAY_TABLES: tuple[TableSpec, ...] = tuple(
    t for t in READ_MODELS if t.layer == "silver" and t.day_column is not None
)
Partition = tuple[str, date | None]  # (table name, day; None for a whole table)


def heal_partitions(
    settings: Settings,
    scratch: Settings,
    drifted: list[PartitionDiff],
    first: date,
    last: date,
    instance: dg.DagsterInstance | None,
    tags: Mapping[str, str],
) -> set[Partition]:
    """Returns the (table, day) partitions of `drifted` that still differ from the scratch
    rebuild after healing: their gold re-materialized from stored silver, then, for what
    still differs, their silver days from the log and their gold again."""
    specs = {t.name: t for t in GOLD_TABLES}

    def rewrite(partitions: set[Partition]) -> set[Partition]:
        by_table: dict[str, set[date | None]] = defaultdict(set)
        for table, day in partitions:
            by_table[table].add(day)
        _rematerialize(settings, by_table, first, last, instance, tags)
        again = [
            d
            for table, days in by_table.items()
            for d in compare_table(settings, scratch, specs[table], [x for x in days if x])
        ]
        return {(d.table, d.day) for d in again if d.drifted}

    still = rewrite({(d.table, d.day) for d in drifted})
    if not still:
        return still
    # The stored silver itself drifted (a missed late event, a lost write): rebuild it too.
    silver_days = {day for _, day in still if day is not None}
    for a, b in day_ranges(silver_days):
        materialize_days(settings, a, b, tables=SILVER_DAY_TABLES, tags=tags, instance=instance)
    if any(day is None for _, day in still):
        materialize_days(settings, first, last, tables=[SILVER_USERS], tags=tags, instance=instance)
    return rewrite(still)


def _rematerialize(
    settings: Settings,
    by_table: Mapping[str, set[date | None]],
    first: date,
    last: date,
    instance: dg.DagsterInstance | None,
    tags: Mapping[str, str],
) -> None:
    """Re-materializes exactly these partitions: one run per distinct range of days (with
    every table drifted over exactly that range), and the unpartitioned tables whole."""
    specs = {t.name: t for t in GOLD_TABLES}
    runs: dict[tuple[date, date], list[TableSpec]] = defaultdict(list)
    whole = []
    for table, days in by_table.items():
        spec = specs[table]
        if spec.day_column is None:
            whole.append(spec)
            continue
        for span in day_ranges(d for d in days if d is not None):
            runs[span].append(spec)
    for (a, b), tables in sorted(runs.items()):
        materialize_days(settings, a, b, tables=tables, tags=tags, instance=instance)
    if whole:
        materialize_days(settings, first, last, tables=whole, tags=tags, instance=instance)
