"""`eventlake tables`, `eventlake read` and `eventlake history`: look into any table, at any version.

Time travel comes from the Delta log: `--version N` or `--as-of TIME` reads the table as it was.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from cli.args import command, day, table
from eventlake.errors import ConfigError, LakeError
from eventlake.settings import Settings

if TYPE_CHECKING:  # the handlers import them: --help stays fast
    import polars as pl

    from eventlake.catalog import TableSpec


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    """Adds `tables`, `read` and `history` to the command line."""
    command(sub, "tables", _tables, parent)

    p = command(sub, "read", _read, parent)
    p.add_argument("table", type=table, help="a table name, e.g. gold/revenue_daily")
    when = p.add_mutually_exclusive_group()
    when.add_argument("--version", type=_version, help="Delta version to read")
    when.add_argument(
        "--as-of", type=_moment, metavar="TIME", help="RFC 3339 time (UTC if no offset)"
    )
    p.add_argument("--from", dest="first", type=day, metavar="DATE", help="first day (day tables)")
    p.add_argument("--to", dest="last", type=day, metavar="DATE", help="last day (day tables)")
    p.add_argument("--limit", type=int, default=50, help="rows to print (0 = all; default 50)")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")

    p = command(sub, "history", _history, parent)
    p.add_argument("table", type=table, help="a table name, e.g. bronze/events")
    p.add_argument("--limit", type=int, default=20, help="commits to list (default 20)")


def _version(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a version number")
    return int(text)


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"{text!r} is not an RFC 3339 time") from err
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _tables(args: argparse.Namespace, settings: Settings) -> int:
    """list the lake's tables: rows, version, last commit

    List every table of the catalog with its version, last commit and grain.
    """
    import polars as pl

    from eventlake import lake
    from eventlake.catalog import TABLES

    rows = []
    for spec in TABLES:
        table = lake.open_table(settings, spec)
        last = table.history(1)[0] if table is not None else None
        rows.append(
            {
                "table": spec.name,
                "version": table.version() if table is not None else None,
                "last_commit": _commit_time(last) if last else None,
                "grain": spec.description.split(":")[0].split(".")[0],
            }
        )
    _print(pl.DataFrame(rows), "table")
    return 0


def _read(args: argparse.Namespace, settings: Settings) -> int:
    """print a table's rows, optionally as of a past version or time

    Print rows of a table. --version or --as-of reads the table as it was
    (Delta time travel); --from/--to keep the days in that range.

    examples:
      eventlake read gold/daily_active_users --from 2026-11-01
      eventlake read gold/revenue_daily --version 12 --format csv
      eventlake read silver/events --as-of 2026-11-28T09:00:00Z --limit 5
    """
    import polars as pl

    from eventlake import lake

    spec: TableSpec = args.table
    if lake.open_table(settings, spec) is None:
        raise LakeError(f"{spec.name} does not exist under {settings.lake_root}")
    frame = lake.scan(settings, spec, version=args.version or args.as_of)
    if args.first or args.last:
        if spec.day_column is None:
            raise ConfigError(f"--from/--to: {spec.name} has no day column")
        frame = frame.filter(
            pl.col(spec.day_column).is_between(args.first or date.min, args.last or date.max)
        )
    if spec.layer == "gold" and spec.day_column:
        frame = frame.sort(spec.day_column)
    if args.limit:
        frame = frame.head(args.limit)
    try:
        rows = frame.collect()
    except (OSError, pl.exceptions.ComputeError) as err:  # data files vacuumed since
        when = args.version if args.version is not None else args.as_of
        raise LakeError(
            f"{spec.name}: cannot read {'as of ' + str(when) if when is not None else 'it'}: "
            f"its data files are gone (vacuumed; time travel reaches back "
            f"{settings.vacuum_retention_hours} h): {str(err).splitlines()[0]}"
        ) from err
    _print(rows, args.format)
    return 0


def _history(args: argparse.Namespace, settings: Settings) -> int:
    """list a table's commits (versions, operations, rows)

    List the newest commits of a table's Delta log.
    """
    import polars as pl

    from eventlake import lake

    spec: TableSpec = args.table
    table = lake.open_table(settings, spec)
    if table is None:
        raise LakeError(f"{spec.name} does not exist under {settings.lake_root}")
    rows = [
        {
            "version": entry.get("version"),
            "time": _commit_time(entry),
            "operation": entry.get("operation"),
            "rows_added": (entry.get("operationMetrics") or {}).get("num_added_rows"),
            "event_dates": entry.get(lake.EVENT_DATES_KEY),
        }
        for entry in table.history(args.limit)
    ]
    _print(pl.DataFrame(rows, infer_schema_length=None), "table")
    return 0


def _commit_time(entry: dict) -> datetime:
    return datetime.fromtimestamp(entry["timestamp"] / 1000, tz=UTC).replace(microsecond=0)


def print_table(frame: pl.DataFrame) -> None:
    """Prints `frame` as an aligned text table for a terminal: every row and column, strings
    cut at 60 characters, no shape or type lines."""
    import polars as pl

    with pl.Config(
        tbl_rows=-1,
        tbl_cols=-1,
        fmt_str_lengths=60,
        tbl_width_chars=200,
        tbl_hide_dataframe_shape=True,
        tbl_hide_column_data_types=True,
    ):
        print(frame)


def _print(frame: pl.DataFrame, fmt: str) -> None:
    if fmt == "csv":
        sys.stdout.write(frame.write_csv())
    elif fmt == "json":
        sys.stdout.write(frame.write_ndjson())
    else:
        print_table(frame)
