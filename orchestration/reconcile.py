"""Reconciliation: every read model rebuilt from the log in a scratch lake, the stored silver
and gold tables compared with it, drifted partitions healed, silver before gold.

Several gold figures reach across all history (a user's "active earlier" in the lifecycle,
an order counted on the day of its earliest event, a month of activity behind a day's MAU,
cohorts, RFM), so a correct rebuild of any day needs silver for every day: the scratch lake is
rebuilt whole, by the normal assets, reading the real bronze/ and dim/ tables
(`Settings.log_root`). Silver is compared over every day the rebuild covers (the days some
compared gold figure reads: the whole tables read them all), gold over the window (plus the
unpartitioned gold tables, whole), then the scratch lake is deleted.

Healing rewrites the drifted silver partitions from the log first, so that gold is healed from
silver equal to the log; then it re-materializes exactly the drifted gold (table, day)
partitions on the real lake (runs tagged with the `reconciliation` cause); what still differs
after that gets its silver days rewritten from the log too, then its gold again. Every healed
partition is compared again afterwards (docs/operations.md, "Reconciliation").
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import polars as pl
from tqdm import tqdm

from assets.day_range import days_between
from assets.restatements import CAUSE_TAG
from eventlake import lake
from eventlake.catalog import (
    AUDIT_RECONCILIATION,
    BRONZE_EVENTS,
    GOLD_TABLES,
    SILVER_TABLES,
    TableSpec,
)
from eventlake.errors import ConfigError, EventlakeError, LakeError
from eventlake.settings import Settings
from operations.reconcile_compare import PartitionDiff, compare_table
from orchestration.bronze_log import all_event_days, touched_since
from orchestration.materialize import materialize_days
from orchestration.partitions import check_bounds
from orchestration.reconcile_heal import Partition, heal_partitions, heal_silver

RECONCILIATION_TAG = "eventlake/reconciliation"  # links healing runs to the report's run_id
MAX_LOG_ENTRIES = 10_000  # commit entries read to learn which days moved during the run


@dataclass(frozen=True)
class Checked:
    """One report row: a compared partition, whether it was healed, whether the log moved
    under it during the run (its stored figures and the rebuild then saw different logs)."""

    diff: PartitionDiff
    healed: bool | None  # None: nothing to heal, or rewritten but not verifiable (unsettled)
    unsettled: bool = False

    @property
    def remaining(self) -> bool:
        """True when drift was found here, on a settled partition, and is still there."""
        return self.diff.drifted and not self.unsettled and self.healed is not True


@dataclass(frozen=True)
class Reconciliation:
    """What one reconciliation run found and did."""

    run_id: str
    checked_at: datetime
    first: date
    last: date
    bronze_version: int
    partitions: tuple[Checked, ...]
    seconds: float

    @property
    def drifted(self) -> list[Checked]:
        """Returns the partitions that differed from the rebuild when first compared."""
        return [c for c in self.partitions if c.diff.drifted]

    @property
    def remaining(self) -> list[Checked]:
        """Returns the settled partitions whose drift was not healed."""
        return [c for c in self.partitions if c.remaining]

    def of_table(self, spec: TableSpec) -> list[Checked]:
        """Returns the partitions of one table."""
        return [c for c in self.partitions if c.diff.table == spec.name]

    def report(self) -> pl.DataFrame:
        """Returns the AUDIT_RECONCILIATION rows of this run: one per (table, day) compared."""
        rows = [
            {
                "checked_at": self.checked_at,
                "run_id": self.run_id,
                "table": c.diff.table,
                "day": c.diff.day,
                "rows_compared": c.diff.rows_compared,
                "mismatches": c.diff.mismatches,
                "max_abs_difference": c.diff.max_abs_difference,
                "healed": c.healed,
            }
            for c in self.partitions
        ]
        return pl.DataFrame(rows, schema=AUDIT_RECONCILIATION.schema)

    def lines(self) -> list[str]:
        """Returns a per-table summary for a terminal."""
        head = (
            f"reconciled {self.first}..{self.last} with a rebuild from the log "
            f"({BRONZE_EVENTS.name} v{self.bronze_version}) in {self.seconds:.1f} s"
        )
        width = max(len(t.name) for t in (*SILVER_TABLES, *GOLD_TABLES))
        out = [
            head,
            f"  {'table':<{width}}  {'days':>5}  {'rows':>9}  {'mismatches':>10}  "
            f"{'max diff':>10}  {'drifted':>7}  {'healed':>6}",
        ]
        for spec in (*SILVER_TABLES, *GOLD_TABLES):
            mine = self.of_table(spec)
            if not mine and spec.day_column is None:
                continue  # not compared in this run
            days = "whole" if spec.day_column is None else str(len(mine))
            rows = sum(c.diff.rows_compared for c in mine)
            mismatches = sum(c.diff.mismatches for c in mine)
            largest = max((c.diff.max_abs_difference for c in mine), default=0.0)
            drifted = sum(c.diff.drifted for c in mine)
            healed = sum(c.healed is True for c in mine)
            out.append(
                f"  {spec.name:<{width}}  {days:>5}  {rows:>9,}  {mismatches:>10,}  "
                f"{largest:>10.4g}  {drifted:>7}  {healed:>6}"
            )
        unsettled = [c for c in self.drifted if c.unsettled]
        if unsettled:
            out.append(
                f"{len(unsettled)} drifted partition(s) were written while the log moved "
                f"(rewritten from the current log, not re-verified): {_names(unsettled)}"
            )
        if self.remaining:
            out.append(f"drift remains in {len(self.remaining)}: {_names(self.remaining)}")
        else:
            out.append("no drift remains")
        return out


def _names(checked: Iterable[Checked]) -> str:
    return ", ".join(f"{c.diff.table} {c.diff.day or 'whole'}" for c in checked)


def reconcile_window(
    settings: Settings, first: date | None, last: date | None, today: date
) -> tuple[date, date]:
    """Returns the days to compare: the closed days [today - reconcile_days, today - 1] by
    default (clipped at the start date), or the given bounds.

    Raises:
        ConfigError: a bound lies outside the partitions, or the range is empty.
    """
    start = settings.start_date
    check_bounds(settings, first, last, today)
    lo = first if first is not None else max(start, today - timedelta(days=settings.reconcile_days))
    hi = last if last is not None else max(lo, today - timedelta(days=1))
    if lo > hi:
        raise ConfigError(f"no days to reconcile: {lo} is after {hi}")
    return lo, hi


def reconcile(
    settings: Settings,
    first: date,
    last: date,
    *,
    heal: bool = True,
    instance: dg.DagsterInstance | None = None,
    run_id: str | None = None,
    today: date | None = None,
    tables: Sequence[TableSpec] = GOLD_TABLES,
    progress: bool = False,
) -> Reconciliation:
    """Returns the reconciliation of the gold tables over days [first, last], and of silver
    over every day they read, after writing its rows to audit/reconciliation (and healing,
    unless `heal` is False).

    Args:
        instance: the Dagster instance of the healing runs (the scratch rebuild always runs
            on an ephemeral one: its materializations are not the real assets').
        run_id: the id written in the report (default: a new one).
        today: the last day partition (default: today UTC).
        tables: the gold tables to compare (and heal); silver is always compared.
        progress: show a progress bar on stderr.

    Raises:
        LakeError: there is no event log to rebuild from.
        EventlakeError: a rebuild or a healing run failed.
    """
    started = time.perf_counter()
    checked_at = datetime.now(UTC)
    today = today or checked_at.date()
    run_id = run_id or uuid.uuid4().hex
    log = lake.open_table(settings, BRONZE_EVENTS)
    if log is None:
        raise LakeError(
            f"no {BRONZE_EVENTS.name} table at {lake.table_uri(settings, BRONZE_EVENTS)}"
        )
    pinned = log.version()  # the rebuild reads this version or a later one
    event_days = all_event_days(log)
    # Days before the log's first event hold no figures to check (and may never have run).
    begin = max(first, min(event_days, default=last + timedelta(days=1)))
    days = days_between(begin, last)
    root = tempfile.mkdtemp(prefix="eventlake-reconcile-")
    bar = tqdm(total=4, desc="reconcile", unit="step", file=sys.stderr, disable=not progress)
    try:
        scratch = replace(settings, lake_root=root, log_root=settings.lake_root)
        bar.set_postfix_str("rebuild from the log")
        span = _rebuild_span(settings, event_days, last, today)
        _rebuild(scratch, span)
        bar.update()
        tags = {CAUSE_TAG: "reconciliation", RECONCILIATION_TAG: run_id}
        bar.set_postfix_str("compare and heal silver")
        read = days_between(*span)
        found = [d for spec in SILVER_TABLES for d in compare_table(settings, scratch, spec, read)]
        drifted = [d for d in found if d.drifted]
        still: set[Partition] = {(d.table, d.day) for d in drifted}
        if heal and drifted:
            still = heal_silver(settings, scratch, drifted, span, instance, tags)
        bar.update()
        bar.set_postfix_str("compare and heal gold")
        gold = [d for spec in tables for d in compare_table(settings, scratch, spec, days)]
        found += gold
        drifted = [d for d in gold if d.drifted]
        if heal and drifted:
            still |= heal_partitions(settings, scratch, drifted, first, last, instance, tags)
        else:
            still |= {(d.table, d.day) for d in drifted}
        bar.update()
        moved = moved_days(settings, pinned)
        partitions = tuple(_outcome(d, heal, still, moved) for d in found)
        result = Reconciliation(
            run_id, checked_at, first, last, pinned, partitions, time.perf_counter() - started
        )
        lake.append(settings, AUDIT_RECONCILIATION, result.report())
        bar.update()
        return result
    finally:
        bar.close()
        shutil.rmtree(root, ignore_errors=True)


def _rebuild_span(
    settings: Settings, event_days: set[date], last: date, today: date
) -> tuple[date, date]:
    """Returns the days the scratch lake is rebuilt for: from the first event day through the
    window's end or the last event day, within the partitions (figures of a day read days
    before it, and the day after it)."""
    lo = min(event_days, default=last)
    hi = max([last, *event_days])
    return max(lo, settings.start_date), min(hi, today)


def _rebuild(scratch: Settings, span: tuple[date, date]) -> None:
    """Materializes every asset into the scratch lake, on a throwaway Dagster instance."""
    try:
        with dg.DagsterInstance.ephemeral() as throwaway:
            materialize_days(scratch, *span, instance=throwaway)
    except EventlakeError as err:
        raise EventlakeError(f"rebuild from the log failed: {err}") from err


def moved_days(settings: Settings, pinned: int) -> frozenset[date] | None:
    """Returns the event days that commits after version `pinned` touched (None: every day,
    when the commits cannot tell)."""
    log = lake.open_table(settings, BRONZE_EVENTS)
    if log is None:
        return None
    touched = touched_since(log, pinned, limit=MAX_LOG_ENTRIES)
    return None if touched.everything else touched.days


def is_unsettled(day: date | None, moved: frozenset[date] | None) -> bool:
    """True when events of the days `moved` (None: any day) may change the figures of `day`
    (None: an unpartitioned table, which reads every day).

    A figure of day D reads events of D, earlier days (windows, "active earlier", an order's
    earliest event) and at most the day after (a session or a funnel entry crossing midnight).
    """
    if moved is None:
        return True
    if not moved:
        return False
    return day is None or min(moved) <= day + timedelta(days=1)


def _outcome(
    diff: PartitionDiff,
    heal: bool,
    still: set[Partition],
    moved: frozenset[date] | None,
) -> Checked:
    """Returns the report row of one compared partition."""
    if not diff.drifted:
        return Checked(diff, None)
    unsettled = is_unsettled(diff.day, moved)
    if not heal:
        return Checked(diff, False, unsettled)
    if (diff.table, diff.day) not in still:
        return Checked(diff, True, unsettled)
    return Checked(diff, None if unsettled else False, unsettled)
