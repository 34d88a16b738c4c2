"""Bronze retention: days older than `bronze_retention_days` are summarized, then deleted.

Each retirement pass of a bronze table (bronze/events by event_date, bronze/dead_letters by
the UTC day of ingested_at) reads the rows before the horizon from one snapshot, writes their
summary to bronze/retired_days, then deletes exactly those rows in a commit made against the
same snapshot. The delete records the pass number as a Delta `txn` of `RETENTION_APP_ID`, so
the log itself says which passes completed:

- a crash between the summary and the delete leaves the rows and a summary of a pass the log
  does not record; the next pass reads the rows again and *replaces* that summary (it never
  adds to it), then deletes: nothing is counted twice or lost;
- a late row landing in a retired day after its pass is retired by a later pass, which adds
  its own summary rows (readers sum over passes);
- a commit racing the delete (a late event appended to a day being retired, a compaction of
  it) makes the delete fail; the pass is simply run again from a fresh snapshot.

Retired days cannot be rebuilt from the log any more: `horizon` gives the first day still
kept, so a rebuild (`eventlake materialize`, reconciliation) can refuse earlier days.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import polars as pl

from eventlake import lake
from eventlake.catalog import BRONZE_DEAD_LETTERS, BRONZE_EVENTS, BRONZE_RETIRED_DAYS, TableSpec
from eventlake.errors import LakeError
from eventlake.lake import CommitFailedError, DeltaError, DeltaTable
from eventlake.log_rules import RETENTION_APP_ID
from eventlake.settings import Settings
from operations.maintenance import MAINTENANCE_KEY, reason

RETIRED_TABLES: tuple[TableSpec, ...] = (BRONZE_EVENTS, BRONZE_DEAD_LETTERS)
MAX_ATTEMPTS = 5  # passes re-run after losing to a concurrent commit, before giving up
LATE_DAYS = 30  # docs/service-levels.md: an event up to 30 days late re-materializes its day


@dataclass(frozen=True)
class Retirement:
    """What one retirement pass of one bronze table did (or, dry, would do)."""

    table: str
    horizon: date  # days before it are retired
    days: tuple[date, ...]
    rows: int
    retirement: int | None  # the pass number; None when there was nothing to retire
    attempts: int = 1


def horizon(settings: Settings, today: date) -> date | None:
    """Returns the first day bronze still keeps (None: the policy keeps every day).

    `bronze_retention_days` = N keeps today and the N days before it; earlier days are retired
    and can no longer be rebuilt from the log.
    """
    if settings.bronze_retention_days is None:
        return None
    return today - timedelta(days=settings.bronze_retention_days)


def policy_warnings(settings: Settings) -> list[str]:
    """Returns what is risky about the retention policy in `settings` (empty: nothing)."""
    keep = settings.bronze_retention_days
    if keep is None:
        return []
    found = []
    if keep <= LATE_DAYS:
        found.append(
            f"EVENTLAKE_BRONZE_RETENTION_DAYS={keep} keeps no more than the {LATE_DAYS} days an "
            "event may be late: a late event can land in a retired day, whose rebuild would "
            f"then read only it (keep at least {LATE_DAYS + 1})"
        )
    if keep <= settings.reconcile_days:
        found.append(
            f"EVENTLAKE_BRONZE_RETENTION_DAYS={keep} does not cover the reconciliation window "
            f"(EVENTLAKE_RECONCILE_DAYS={settings.reconcile_days}): it would compare gold with "
            "retired days"
        )
    return found


def retire(
    settings: Settings,
    *,
    today: date,
    tables: Sequence[TableSpec] = RETIRED_TABLES,
    dry_run: bool = False,
    now: datetime | None = None,
) -> list[Retirement]:
    """Returns what retiring the days before the horizon did in each of `tables`.

    Nothing happens (an empty list) when the policy keeps every day. Idempotent: a second
    call finds nothing older than the horizon and commits nothing.

    Args:
        today: the current UTC day (the horizon is counted back from it).
        tables: bronze/events and/or bronze/dead_letters.
        dry_run: only report what would be retired (no write).
        now: the `retired_at` recorded in the summary (default: the clock).

    Raises:
        LakeError: a table could not be read or written, or kept losing to concurrent commits.
    """
    first_kept = horizon(settings, today)
    if first_kept is None:
        return []
    moment = now or datetime.now(UTC)
    return [
        _retire_table(settings, spec, first_kept, moment, dry_run=dry_run)
        for spec in tables
        if spec in RETIRED_TABLES
    ]


def _retire_table(
    settings: Settings, spec: TableSpec, first_kept: date, now: datetime, *, dry_run: bool
) -> Retirement:
    for attempt in range(1, MAX_ATTEMPTS + 1):
        table = lake.open_table(settings, spec)
        if table is None:
            return Retirement(spec.name, first_kept, (), 0, None, attempt)
        done = table.transaction_version(RETENTION_APP_ID) or 0
        summary = summarize(spec, table, first_kept, now=now, retirement=done + 1)
        if summary.is_empty():
            return Retirement(spec.name, first_kept, (), 0, None, attempt)
        days = tuple(sorted(set(summary.get_column("day").to_list())))
        rows = int(summary.get_column("rows").sum())
        if dry_run:
            return Retirement(spec.name, first_kept, days, rows, done + 1, attempt)
        write_summary(settings, spec, summary, completed=done)
        try:
            _delete_before(table, spec, first_kept, done + 1)
        except CommitFailedError:
            continue  # a commit since the snapshot touched the rows: summarize them again
        return Retirement(spec.name, first_kept, days, rows, done + 1, attempt)
    raise LakeError(
        f"{spec.name}: retiring days before {first_kept} lost to concurrent commits "
        f"{MAX_ATTEMPTS} times; run maintenance again when the ingester is less busy"
    )


def _retired(spec: TableSpec, first_kept: date) -> tuple[pl.Expr, pl.Expr, str]:
    """Returns (day expression, filter, Delta delete predicate) of the rows to retire."""
    if spec is BRONZE_EVENTS:
        return (
            pl.col("event_date"),
            pl.col("event_date") < first_kept,
            f"event_date < '{first_kept.isoformat()}'",  # a partition predicate: no rewrite
        )
    cutoff = datetime.combine(first_kept, time(), UTC)
    return (
        pl.col("ingested_at").dt.date(),
        pl.col("ingested_at") < cutoff,
        f"ingested_at < '{cutoff.isoformat()}'",
    )


def summarize(
    spec: TableSpec, table: DeltaTable, first_kept: date, *, now: datetime, retirement: int
) -> pl.DataFrame:
    """Returns the bronze/retired_days rows of the rows before `first_kept` in `table`, read at
    the version the handle has loaded (the same snapshot the delete is then made against)."""
    day, keep, _ = _retired(spec, first_kept)
    group = "event_type" if spec is BRONZE_EVENTS else "error_code"
    aggregates = (
        pl.col("aggregate_id").n_unique() if spec is BRONZE_EVENTS else pl.lit(None, pl.Int64)
    )
    try:
        found = (
            pl.scan_delta(table)
            .filter(keep)
            .group_by(day.alias("day"), pl.col(group))
            .agg(
                pl.len().alias("rows"),
                aggregates.alias("aggregates"),
                pl.col("ingested_at").min().alias("first_ingested_at"),
                pl.col("ingested_at").max().alias("last_ingested_at"),
            )
            .collect()
        )
    except (DeltaError, OSError, pl.exceptions.ComputeError) as err:
        raise LakeError(f"{spec.name}: reading the days to retire failed: {reason(err)}") from err
    other = "error_code" if group == "event_type" else "event_type"
    return (
        found.with_columns(
            source_table=pl.lit(spec.name),
            retired_at=pl.lit(now),
            retirement=pl.lit(retirement),
            source_version=pl.lit(table.version()),
            **{other: pl.lit(None, pl.String)},
        )
        .select(BRONZE_RETIRED_DAYS.schema.names())
        .cast(BRONZE_RETIRED_DAYS.schema)
        .sort("day", group)
    )


def write_summary(
    settings: Settings, spec: TableSpec, summary: pl.DataFrame, *, completed: int
) -> int:
    """Writes a pass's summary of `spec` to bronze/retired_days; returns the new version.

    Replaces the summary rows of passes after `completed` (the last pass whose delete
    committed): those of a pass that crashed before its delete, whose rows are still in bronze
    and summarized again now.
    """
    target = lake.ensure_table(settings, BRONZE_RETIRED_DAYS)
    predicate = f"source_table = '{spec.name}' AND retirement > {completed}"
    try:
        lake.overwrite_where(target, summary, predicate)
    except (DeltaError, OSError) as err:
        raise LakeError(
            f"{BRONZE_RETIRED_DAYS.name}: writing the summary of {spec.name} failed: {reason(err)}"
        ) from err
    return target.version()


def _delete_before(table: DeltaTable, spec: TableSpec, first_kept: date, retirement: int) -> None:
    """Deletes the rows to retire, against the handle's snapshot, recording the pass.

    The commit carries the maintenance mark and an empty list of touched event dates, so the
    bronze sensor does not take it for new data (rebuilding a retired day from an empty log
    would wipe its silver and gold rows, which are kept).

    Raises:
        CommitFailedError: a commit since the snapshot conflicts (the pass must be re-run).
    """
    _, _, predicate = _retired(spec, first_kept)
    properties = lake.commit_properties(
        {MAINTENANCE_KEY: "retire", lake.EVENT_DATES_KEY: ""},
        app_id=RETENTION_APP_ID,
        version=retirement,
    )
    try:
        table.delete(predicate, commit_properties=properties)
    except CommitFailedError:
        raise
    except (DeltaError, OSError) as err:
        raise LakeError(f"{spec.name}: deleting rows {predicate!r} failed: {reason(err)}") from err
