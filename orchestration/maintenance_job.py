"""The nightly lake maintenance job: retire old bronze days, compact, checkpoint, vacuum.

One op per step, in this order (each after the previous one succeeded):

1. `retire_bronze_days`: bronze days older than EVENTLAKE_BRONZE_RETENTION_DAYS are summarized
   into bronze/retired_days and deleted (nothing when the policy keeps every day). First, so
   compaction does not rewrite days about to go.
2. `compact_closed_days`: the closed days (before today, UTC) of bronze/events and the
   day-partitioned silver tables holding at least `min_files` files are compacted.
3. `checkpoint_tables`: a checkpoint of every table of the catalog that exists.
4. `vacuum_tables`: files removed from every table more than EVENTLAKE_VACUUM_RETENTION_HOURS
   ago (default 168) are deleted; younger ones stay, so time travel ("as of") keeps working
   over that window.

Each op logs what it did and reports it as output metadata (files before and after, bytes
removed, rows retired). The same steps run in-process with `eventlake maintain`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime

import dagster as dg

from eventlake.settings import ENV_VARS, SAFE_VACUUM_RETENTION_HOURS, Settings
from operations import log_retention, maintenance
from orchestration.resources import LakeResource
from orchestration.schedules import nightly_schedule

MAINTENANCE_JOB = "lake_maintenance"
MAINTENANCE_CRON = "30 3 * * *"  # 03:30 UTC: after the 00:30 close of yesterday, before the day
MAINTENANCE_RESOURCE_KEY = "maintenance_policy"
# reconcile_days only for the warning that the retention must cover the reconciliation window
_POLICY_VARS = ("bronze_retention_days", "vacuum_retention_hours", "reconcile_days")
_IN_PROGRESS = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


class MaintenancePolicy(dg.ConfigurableResource):
    """The retention settings of maintenance (and the reconciliation window they must cover), as
    in their EVENTLAKE_* variables.

    Values that came from the environment are bound as `EnvVar`s (read when a run starts).
    """

    bronze_retention_days: str = ""  # EVENTLAKE_BRONZE_RETENTION_DAYS; "" keeps every day
    vacuum_retention_hours: str = str(SAFE_VACUUM_RETENTION_HOURS)
    reconcile_days: str = "7"

    def apply(self, settings: Settings) -> Settings:
        """Returns `settings` with this policy (validated like the environment)."""
        policy = Settings.from_env(
            env={ENV_VARS[name]: getattr(self, name) for name in _POLICY_VARS}
        )
        return replace(settings, **{name: getattr(policy, name) for name in _POLICY_VARS})

    @classmethod
    def from_settings(
        cls, settings: Settings, env: Mapping[str, str] | None = None
    ) -> MaintenancePolicy:
        """Returns the policy of `settings`; variables set in `env` are bound as EnvVars."""
        days = settings.bronze_retention_days
        values: dict[str, object] = {
            "bronze_retention_days": "" if days is None else str(days),
            "vacuum_retention_hours": str(settings.vacuum_retention_hours),
            "reconcile_days": str(settings.reconcile_days),
        }
        for name in _POLICY_VARS:
            if env is not None and env.get(ENV_VARS[name], "").strip():
                values[name] = dg.EnvVar(ENV_VARS[name])
        return cls(**values)  # type: ignore[arg-type]


# Run configuration of the ops that need a day (the defaults suit the nightly schedule).
# A config_schema rather than a dg.Config class: Dagster cannot resolve a Config annotation
# that `from __future__ import annotations` turned into a string.
TODAY_FIELD = dg.Field(str, default_value="", description="YYYY-MM-DD: the current UTC day "
                       "('' = the clock's); days before it are closed")  # fmt: skip
MIN_FILES_FIELD = dg.Field(int, default_value=maintenance.DEFAULT_MIN_FILES,
                           description="a closed day with fewer files is left alone")  # fmt: skip


def _today(context: dg.OpExecutionContext) -> date:
    text = context.op_config["today"]
    if not text:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(text)
    except ValueError as err:
        raise dg.Failure(f"today: {text!r} is not a date (YYYY-MM-DD)") from err


def _markdown(header: tuple[str, ...], rows: Sequence[tuple[object, ...]]) -> dg.MetadataValue:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in rows]
    return dg.MetadataValue.md("\n".join(lines))


@dg.op(out=dg.Out(dg.Nothing), config_schema={"today": TODAY_FIELD})
def retire_bronze_days(
    context,  # Dagster rejects a string-annotated context
    lake: LakeResource,
    maintenance_policy: MaintenancePolicy,
) -> None:
    """Summarizes, then deletes, the bronze days older than the retention policy keeps."""
    settings = maintenance_policy.apply(lake.settings())
    today = _today(context)
    first_kept = log_retention.horizon(settings, today)
    for warning in log_retention.policy_warnings(settings):
        context.log.warning(warning)
    done = log_retention.retire(settings, today=today)
    for r in done:
        context.log.info(
            f"{r.table}: retired {r.rows} rows of {len(r.days)} days before {r.horizon}"
            + (f" (pass {r.retirement}, {r.attempts} attempts)" if r.retirement else "")
        )
    if first_kept is None:
        context.log.info("bronze retention keeps every day (EVENTLAKE_BRONZE_RETENTION_DAYS unset)")
    context.add_output_metadata(
        {
            "horizon": first_kept.isoformat() if first_kept else "none (keep everything)",
            "rows_retired": sum(r.rows for r in done),
            "days_retired": len({d for r in done for d in r.days}),
            "tables": _markdown(
                ("table", "days", "rows", "pass"),
                [(r.table, len(r.days), r.rows, r.retirement or "-") for r in done],
            ),
        }
    )


@dg.op(
    ins={"after": dg.In(dg.Nothing)},
    out=dg.Out(dg.Nothing),
    config_schema={"today": TODAY_FIELD, "min_files": MIN_FILES_FIELD},
)
def compact_closed_days(
    context,  # Dagster rejects a string-annotated context
    lake: LakeResource,
) -> None:
    """Compacts the closed days of bronze/events and the silver day tables with many files."""
    settings = lake.settings()
    plans = maintenance.plan(
        settings,
        maintenance.compacted_tables(),
        today=_today(context),
        min_files=context.op_config["min_files"],
    )
    rows, before, after, compacted, skipped = [], 0, 0, 0, 0
    for p in plans:
        report = maintenance.compact_days(settings, p.spec, p.compact)
        before, after = before + report.files_before, after + report.files_after
        compacted, skipped = compacted + len(report.compactions), skipped + len(report.skipped)
        if p.compact:
            context.log.info(
                f"{p.spec.name}: compacted {len(report.compactions)} days "
                f"({len(report.skipped)} skipped), files {report.files_before} -> "
                f"{report.files_after}"
            )
        rows.append((p.spec.name, len(report.compactions), report.files_before, report.files_after))
    context.add_output_metadata(
        {
            "files_before": before,
            "files_after": after,
            "days_compacted": compacted,
            "days_skipped": skipped,
            "tables": _markdown(("table", "days compacted", "files before", "files after"), rows),
        }
    )


@dg.op(ins={"after": dg.In(dg.Nothing)}, out=dg.Out(dg.Nothing))
def checkpoint_tables(
    context,  # Dagster rejects a string-annotated context
    lake: LakeResource,
) -> None:
    """Writes a checkpoint of every table of the catalog that exists."""
    settings = lake.settings()
    versions = {
        spec.name: maintenance.checkpoint(settings, spec)
        for spec in maintenance.existing_tables(settings)
    }
    context.log.info(f"checkpointed {len(versions)} tables")
    context.add_output_metadata(
        {"tables_checkpointed": len(versions), "versions": dg.MetadataValue.json(versions)}
    )


@dg.op(ins={"after": dg.In(dg.Nothing)}, out=dg.Out(dg.Nothing))
def vacuum_tables(
    context,  # Dagster rejects a string-annotated context
    lake: LakeResource,
    maintenance_policy: MaintenancePolicy,
) -> None:
    """Deletes the files every table removed longer ago than the vacuum retention."""
    settings = maintenance_policy.apply(lake.settings())
    hours = settings.vacuum_retention_hours
    if hours < SAFE_VACUUM_RETENTION_HOURS:
        context.log.warning(
            f"vacuum retention {hours} h is below {SAFE_VACUUM_RETENTION_HOURS} h: time travel "
            "(the dashboard's 'as of', `eventlake read --as-of`) and long-running readers fail "
            "for older versions"
        )
    reports = [
        maintenance.vacuum_table(settings, spec, retention_hours=hours)
        for spec in maintenance.existing_tables(settings)
    ]
    files, size = sum(r.files for r in reports), sum(r.bytes for r in reports)
    context.log.info(f"vacuum ({hours} h): deleted {files} files, {size} bytes")
    context.add_output_metadata(
        {
            "retention_hours": hours,
            "files_removed": files,
            "bytes_removed": size,
            "tables": _markdown(
                ("table", "files removed", "bytes removed"),
                [(r.table, r.files, r.bytes) for r in reports if r.files],
            ),
        }
    )


@dg.job(
    name=MAINTENANCE_JOB,
    description="Retires bronze days older than the retention policy (summary first), "
    "compacts the closed days of bronze/events and the silver day tables, checkpoints every "
    "table and vacuums files removed longer ago than the vacuum retention.",
)
def lake_maintenance() -> None:
    vacuum_tables(after=checkpoint_tables(after=compact_closed_days(after=retire_bronze_days())))


def _unless_one_runs(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    # Two maintenance runs at once would race each other's retention passes and compactions.
    running = context.instance.get_run_records(
        dg.RunsFilter(job_name=MAINTENANCE_JOB, statuses=_IN_PROGRESS), limit=1
    )
    if running:
        return dg.SkipReason(f"{MAINTENANCE_JOB} run {running[0].dagster_run.run_id} still runs")
    day = context.scheduled_execution_time.date().isoformat()
    return dg.RunRequest(run_key=f"{MAINTENANCE_JOB}:{day}")


lake_maintenance_nightly = nightly_schedule(
    "lake_maintenance_nightly",
    MAINTENANCE_CRON,
    lake_maintenance,
    "Lake maintenance every night at 03:30 UTC (skipped while one still runs).",
    _unless_one_runs,
)


def maintenance_resources(settings: Settings, env: Mapping[str, str] | None) -> dict[str, object]:
    """Returns the resources the maintenance job needs beyond the lake, by key."""
    return {MAINTENANCE_RESOURCE_KEY: MaintenancePolicy.from_settings(settings, env)}
