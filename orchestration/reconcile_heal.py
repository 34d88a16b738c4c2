"""Healing drifted read-model partitions: silver rewritten from the log first, then exactly the
drifted gold partitions re-materialized on the real lake, and their silver days rebuilt from
the log when that is not enough."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date

import dagster as dg

from eventlake.catalog import GOLD_TABLES, SILVER_DAY_TABLES, SILVER_TABLES, SILVER_USERS, TableSpec
from eventlake.settings import Settings
from operations.reconcile_compare import PartitionDiff, compare_table
from orchestration.materialize import materialize_days
from orchestration.partitions import day_ranges

Partition = tuple[str, date | None]  # (table name, day; None for a whole table)


def heal_silver(
    settings: Settings,
    scratch: Settings,
    drifted: list[PartitionDiff],
    span: tuple[date, date],
    instance: dg.DagsterInstance | None,
    tags: Mapping[str, str],
) -> set[Partition]:
    """Returns the silver partitions of `drifted` that still differ from the scratch rebuild
    after rewriting them from the log. `span` is the rebuild's days.

    The gold partitions outside the compared window that read a rewritten day are left to the
    `follow_ups` sensor, which follows these runs like any other (docs/operations.md).
    """
    partitions = {(d.table, d.day) for d in drifted}
    _rewrite_silver(settings, {day for _, day in partitions}, span, instance, tags)
    return _still_drifted(settings, scratch, partitions)


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

    def rewrite(partitions: set[Partition]) -> set[Partition]:
        _rematerialize(settings, _by_table(partitions), first, last, instance, tags)
        return _still_drifted(settings, scratch, partitions)

    still = rewrite({(d.table, d.day) for d in drifted})
    if not still:
        return still
    # The stored silver itself drifted (a missed late event, a lost write): rebuild it too.
    _rewrite_silver(settings, {day for _, day in still}, (first, last), instance, tags)
    return rewrite(still)


def _rewrite_silver(
    settings: Settings,
    days: set[date | None],
    span: tuple[date, date],
    instance: dg.DagsterInstance | None,
    tags: Mapping[str, str],
) -> None:
    """Rewrites silver from the log: every silver day table over `days` (as a day run writes
    them), and silver/users whole when `days` holds None (a whole table drifted)."""
    for a, b in day_ranges(d for d in days if d is not None):
        materialize_days(settings, a, b, tables=SILVER_DAY_TABLES, tags=tags, instance=instance)
    if None in days:
        materialize_days(settings, *span, tables=[SILVER_USERS], tags=tags, instance=instance)


def _by_table(partitions: set[Partition]) -> dict[str, set[date | None]]:
    by_table: dict[str, set[date | None]] = defaultdict(set)
    for table, day in partitions:
        by_table[table].add(day)
    return by_table


def _still_drifted(
    settings: Settings, scratch: Settings, partitions: set[Partition]
) -> set[Partition]:
    """Returns the partitions that differ from the scratch rebuild when compared again."""
    specs = {t.name: t for t in (*SILVER_TABLES, *GOLD_TABLES)}
    again = [
        d
        for table, days in _by_table(partitions).items()
        for d in compare_table(settings, scratch, specs[table], [x for x in days if x])
    ]
    return {(d.table, d.day) for d in again if d.drifted}


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
