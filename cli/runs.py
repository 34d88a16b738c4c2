"""`eventlake materialize` and `eventlake reconcile`: runs of the read models and the reconciliation
(heavy imports deferred to the handlers, so `--help` stays fast)."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import UTC, date, datetime

from cli.args import command
from eventlake.errors import ConfigError
from eventlake.settings import Settings


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    """Adds the `materialize` and `reconcile` subcommands to the `eventlake` parser."""
    p = command(sub, "materialize", materialize_command, parent)
    _day_range(p)
    p.add_argument(
        "--table",
        dest="tables",
        metavar="NAME",
        action="append",
        help="a read model to rebuild, e.g. gold/revenue_daily or revenue_daily (repeatable)",
    )

    p = command(sub, "reconcile", reconcile_command, parent)
    _day_range(p)
    p.add_argument(
        "--no-heal", dest="heal", action="store_false", help="report drift, rewrite nothing"
    )
    p.add_argument(
        "--audit",
        action="store_true",
        help="also audit the event log (offsets, offsets of record, event ids, dead letters); "
        "an error finding makes the exit code 1",
    )


def _day_range(p: argparse.ArgumentParser) -> None:
    """Adds --from and --to, read by `parse_day` in the handler."""
    p.add_argument("--from", dest="first", metavar="DATE", help="first day, YYYY-MM-DD")
    p.add_argument("--to", dest="last", metavar="DATE", help="last day (inclusive), YYYY-MM-DD")


def parse_day(flag: str, value: str | None) -> date | None:
    """Returns the day in `value` (YYYY-MM-DD), None when absent.

    Raises:
        ConfigError: `value` is not such a day (a usage error: exit code 2).
    """
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ConfigError(f"{flag}: {value!r} is not a date (YYYY-MM-DD)") from None


def _quiet_dagster(args: argparse.Namespace) -> str:
    """Returns the Dagster run log level: Dagster's per-event log and its storage migrations
    only with --log-level DEBUG."""
    verbose = args.log_level == "DEBUG"
    logging.getLogger("alembic").setLevel(logging.DEBUG if verbose else logging.WARNING)
    return args.log_level if verbose else "WARNING"


def materialize_command(args: argparse.Namespace, settings: Settings) -> int:
    """materialize every asset (or some read models) for a range of days, in-process

    Rebuilds silver/events and every day-partitioned gold table for the days
    [--from, --to] in one in-process Dagster run (on DAGSTER_HOME's instance if set),
    then the unpartitioned tables whole. Default: from the earliest to the latest event
    day in bronze/events, within the partitions (EVENTLAKE_START_DATE .. today UTC;
    today's figures are partial). With --table, only the named read models and the
    tables they are built from (the silver tables), from the log.
    """
    first = parse_day("--from", args.first)
    last = parse_day("--to", args.last)

    from assets.restatements import CAUSE_TAG
    from orchestration.materialize import (
        cli_instance,
        materialize_days,
        read_model,
        resolve_days,
        with_upstream,
    )

    named = [read_model(name) for name in args.tables or []]  # usage errors first
    tables = with_upstream(settings, named) if named else None
    today = datetime.now(UTC).date()
    first, last = resolve_days(settings, first, last, today)
    log_level = _quiet_dagster(args)
    with cli_instance() as instance:
        report = materialize_days(
            settings,
            first,
            last,
            tables=tables,
            tags={CAUSE_TAG: "replay"},
            instance=instance,
            log_level=log_level,
        )
    print("\n".join(report.lines()), file=sys.stdout)
    return 0


def reconcile_command(args: argparse.Namespace, settings: Settings) -> int:
    """compare the gold tables with a rebuild from the log, and heal drift

    Rebuilds every read model from the log in a temporary scratch lake, compares the
    gold tables with it over the closed days [--from, --to] (default: the last
    EVENTLAKE_RECONCILE_DAYS days before today UTC; unpartitioned tables whole), writes
    one row per table and day to audit/reconciliation and re-materializes the drifted
    partitions. Exit 0 when no drift remains, 1 when some does.
    """
    first = parse_day("--from", args.first)
    last = parse_day("--to", args.last)

    from operations.log_audit import audit_errors, audit_lines, audit_log
    from orchestration.materialize import cli_instance
    from orchestration.reconcile import reconcile, reconcile_window

    today = datetime.now(UTC).date()
    first, last = reconcile_window(settings, first, last, today)
    _quiet_dagster(args)
    with cli_instance() as instance:
        done = reconcile(
            settings,
            first,
            last,
            heal=args.heal,
            instance=instance,
            today=today,
            progress=sys.stderr.isatty(),
        )
    print("\n".join(done.lines()), file=sys.stdout)
    errors = 0
    if args.audit:
        audit = audit_log(settings)
        print("\n".join(audit_lines(audit)), file=sys.stdout)
        errors = audit_errors(audit)
    problems = []
    if done.remaining:
        problems.append(f"drift remains in {len(done.remaining)} partition(s)")
    if errors:
        problems.append(f"the log audit found {errors} problem(s)")
    if problems:
        print(f"eventlake reconcile: {'; '.join(problems)}", file=sys.stderr)
        return 1
    return 0
