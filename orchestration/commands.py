"""`eventlake materialize`: the orchestration part's subcommand (heavy imports deferred)."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import UTC, date, datetime

from eventlake.errors import ConfigError
from eventlake.settings import Settings


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    """Adds the `materialize` subcommand to the `eventlake` parser."""
    p = sub.add_parser(
        "materialize",
        parents=[parent],
        help="materialize every asset for a range of day partitions, in-process",
        description="Rebuilds silver/events and every day-partitioned gold table for the days "
        "[--from, --to] in one in-process Dagster run (on DAGSTER_HOME's instance if set). "
        "Default: from the earliest to the latest event day in bronze/events, within the "
        "partitions (EVENTLAKE_START_DATE .. today UTC; today's figures are partial).",
    )
    p.add_argument("--from", dest="first", metavar="DATE", help="first day, YYYY-MM-DD")
    p.add_argument("--to", dest="last", metavar="DATE", help="last day (inclusive), YYYY-MM-DD")
    p.set_defaults(handler=materialize_command)


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


def materialize_command(args: argparse.Namespace, settings: Settings) -> int:
    """Runs `eventlake materialize`; returns the exit code."""
    first = parse_day("--from", args.first)
    last = parse_day("--to", args.last)

    from orchestration.materialize import cli_instance, materialize_days, resolve_days

    today = datetime.now(UTC).date()
    first, last = resolve_days(settings, first, last, today)
    # Dagster's per-event log and its storage migrations only with --log-level DEBUG.
    verbose = args.log_level == "DEBUG"
    logging.getLogger("alembic").setLevel(logging.DEBUG if verbose else logging.WARNING)
    with cli_instance() as instance:
        report = materialize_days(
            settings,
            first,
            last,
            instance=instance,
            log_level=args.log_level if verbose else "WARNING",
        )
    print("\n".join(report.lines()), file=sys.stdout)
    return 0
