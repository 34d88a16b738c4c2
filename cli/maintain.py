"""`eventlake maintain`: the nightly lake maintenance, in-process, on demand.

The same steps as the Dagster job `lake_maintenance`, in the same order: retire bronze days
older than EVENTLAKE_BRONZE_RETENTION_DAYS (summary first), then per table: compact its closed
days with many files, checkpoint it, vacuum it with EVENTLAKE_VACUUM_RETENTION_HOURS.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from cli.args import command, positive_int, table
from eventlake.errors import LakeError
from eventlake.settings import SAFE_VACUUM_RETENTION_HOURS, Settings

if TYPE_CHECKING:  # the handler imports them: --help stays fast
    from eventlake.catalog import TableSpec
    from operations.log_retention import Retirement
    from operations.maintenance import TablePlan


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    """Adds `maintain` to the command line."""
    p = command(sub, "maintain", _maintain, parent)
    p.add_argument("--dry-run", action="store_true", help="print the plan; change nothing")
    p.add_argument(
        "--table", type=table, metavar="NAME", help="only this table, e.g. bronze/events"
    )
    p.add_argument(
        "--min-files",
        type=positive_int,
        default=8,
        metavar="N",
        help="compact a closed day holding at least N files (default 8)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


@dataclass(frozen=True)
class _Line:
    """One table's line of the summary."""

    table: str
    days: int  # compacted (or, dry, to compact)
    files_before: int
    files_after: int | None  # None: dry run
    checkpoint: int | None
    vacuumed: int
    bytes: int


def _maintain(args: argparse.Namespace, settings: Settings) -> int:
    """retire old bronze days, compact closed days, checkpoint and vacuum the lake

    Lake maintenance, in-process (what the nightly Dagster job lake_maintenance does):
    retire bronze days older than EVENTLAKE_BRONZE_RETENTION_DAYS (summarized into
    bronze/retired_days first; unset keeps everything), compact the closed days (before
    today, UTC) of bronze/events and the silver day tables that hold at least --min-files
    files, checkpoint every table, and vacuum files removed more than
    EVENTLAKE_VACUUM_RETENTION_HOURS ago (default 168). Safe while the ingester runs.

    examples:
      eventlake maintain --dry-run
      eventlake maintain
      eventlake maintain --table bronze/events --min-files 2
    """
    from tqdm import tqdm  # heavy imports wait for the handler: --help stays fast

    from eventlake.catalog import TABLES
    from operations import log_retention, maintenance

    today = datetime.now(UTC).date()
    selected: list[TableSpec] = [args.table] if args.table else list(TABLES)
    if not maintenance.existing_tables(settings, selected):
        what = f"{args.table.name} does not exist" if args.table else "no table exists"
        raise LakeError(f"{what} under {settings.lake_root}: nothing to maintain")
    hours = settings.vacuum_retention_hours
    if hours < SAFE_VACUUM_RETENTION_HOURS:
        print(
            f"eventlake maintain: vacuum retention {hours} h is below "
            f"{SAFE_VACUUM_RETENTION_HOURS} h: 'as of' reads of older versions will fail",
            file=sys.stderr,
        )
    for warning in log_retention.policy_warnings(settings):
        print(f"eventlake maintain: warning: {warning}", file=sys.stderr)
    names = {t.name for t in selected}
    retired = log_retention.retire(
        settings,
        today=today,
        tables=[t for t in log_retention.RETIRED_TABLES if t.name in names],
        dry_run=args.dry_run,
    )
    # Planned after retirement (which may create bronze/retired_days); a dry run retired
    # nothing, so it leaves out the days it would have retired.
    plans = maintenance.plan(settings, selected, today=today, min_files=args.min_files)
    first_kept = log_retention.horizon(settings, today)
    if args.dry_run and first_kept is not None:
        plans = [_without_retired(p, first_kept) for p in plans]
    lines = []
    bar = tqdm(plans, desc="maintain", unit="table", file=sys.stderr, disable=args.no_progress)
    for plan in bar:
        bar.set_postfix_str(plan.spec.name)
        if args.dry_run:
            vacuum = maintenance.vacuum_table(
                settings, plan.spec, retention_hours=hours, dry_run=True
            )
            line = _Line(plan.spec.name, len(plan.compact), plan.files, None, None,
                         vacuum.files, vacuum.bytes)  # fmt: skip
        else:
            compaction = maintenance.compact_days(settings, plan.spec, plan.compact)
            version = maintenance.checkpoint(settings, plan.spec)
            vacuum = maintenance.vacuum_table(settings, plan.spec, retention_hours=hours)
            line = _Line(plan.spec.name, len(compaction.compactions), compaction.files_before,
                         compaction.files_after, version, vacuum.files, vacuum.bytes)  # fmt: skip
        lines.append(line)
    bar.close()
    print(_report(settings, retired, lines, today=today, dry_run=args.dry_run, hours=hours))
    return 0


def _without_retired(plan: TablePlan, first_kept: date) -> TablePlan:
    from eventlake.catalog import BRONZE_EVENTS

    if plan.spec.name != BRONZE_EVENTS.name:
        return plan
    return replace(plan, compact=tuple(d for d in plan.compact if d >= first_kept))


def _report(
    settings: Settings,
    retired: list[Retirement],
    lines: list[_Line],
    *,
    today: date,
    dry_run: bool,
    hours: int,
) -> str:
    """Returns the plain-text summary (or plan) of a maintenance run."""
    out = ["plan (dry run: nothing changed)" if dry_run else "done"]
    keep = settings.bronze_retention_days
    if keep is None:
        out.append("retention: bronze keeps every day (EVENTLAKE_BRONZE_RETENTION_DAYS unset)")
    for r in retired:
        verb = "would retire" if dry_run else "retired"
        if not r.days:
            out.append(f"retention: {r.table}: nothing before {r.horizon} to retire")
            continue
        out.append(f"retention: {r.table}: {verb} {r.rows} rows of {len(r.days)} days before "
                   f"{r.horizon} ({r.days[0]}..{r.days[-1]})")  # fmt: skip
    header = ("table", "days to compact" if dry_run else "days compacted", "files before",
              "files after", "checkpoint", "files to vacuum" if dry_run else "vacuumed files",
              "bytes to free" if dry_run else "bytes freed")  # fmt: skip
    rows = [
        (ln.table, str(ln.days), str(ln.files_before), _show(ln.files_after),
         _show(ln.checkpoint), str(ln.vacuumed), str(ln.bytes))
        for ln in lines
    ]  # fmt: skip
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    out += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
            for row in [header, *rows]]  # fmt: skip
    out.append(f"vacuum retention: {hours} h (today, UTC: {today})")
    return "\n".join(out)


def _show(value: int | None) -> str:
    return "-" if value is None else str(value)
