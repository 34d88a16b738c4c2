"""The reconciliation in Dagster: asset checks on every gold table and on the event log, the
`reconciliation` job that runs them, and its nightly schedule."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import dagster as dg
import polars as pl

from assets.day_range import LAKE_RESOURCE_KEY
from eventlake.catalog import BRONZE_EVENTS, GOLD_TABLES, TableSpec
from eventlake.errors import ConfigError
from eventlake.settings import Settings
from operations.log_audit import LogAudit, audit_log
from orchestration.jobs import RECONCILE_CHECK, asset_key
from orchestration.reconcile import Checked, Reconciliation, reconcile, reconcile_window
from orchestration.schedules import nightly_schedule

RECONCILE_JOB = "reconciliation"
RECONCILE_CRON = "0 2 * * *"  # 02:00 UTC: yesterday is closed and its follow-up runs are done
MATCHES_LOG_REBUILD = RECONCILE_CHECK
OFFSETS_CONTIGUOUS = "offsets_contiguous"
OFFSETS_MATCH_RECORD = "offsets_match_record"
EVENT_IDS_CONSISTENT = "event_ids_consistent"
DEAD_LETTERS_ACCOUNTED = "dead_letters_accounted_for"
_SAMPLE = 10  # offending rows shown in a check's metadata


def _lake_settings(context: Any, settings: Settings) -> Settings:
    """Returns the run's lake (from the resource) with the other settings of the definitions."""
    resource: Any = getattr(context.resources, LAKE_RESOURCE_KEY)
    lake_only: Settings = resource.settings()
    return replace(
        settings, lake_root=lake_only.lake_root, storage_options=lake_only.storage_options
    )


def _day(name: str, value: str | None) -> date | None:
    """Returns the day in the run config value `name`, None when absent."""
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ConfigError(f"run config {name}: {value!r} is not a date (YYYY-MM-DD)") from None


def reconciliation_check(settings: Settings) -> dg.AssetChecksDefinition:
    """Returns the check `matches_log_rebuild` of every gold table, run together: one rebuild
    from the log, compared over the window and healed (run config: `from`, `to`, `heal`)."""
    specs = [
        dg.AssetCheckSpec(
            MATCHES_LOG_REBUILD,
            asset=asset_key(spec),
            description="Equal to a rebuild from the log over the reconciliation window "
            "(unpartitioned tables: whole); drifted partitions are healed and compared again.",
        )
        for spec in GOLD_TABLES
    ]

    @dg.multi_asset_check(
        name="reconcile_gold_with_log",
        specs=specs,
        can_subset=True,
        required_resource_keys={LAKE_RESOURCE_KEY},
        config_schema={
            "from": dg.Field(str, is_required=False, description="first day, YYYY-MM-DD"),
            "to": dg.Field(str, is_required=False, description="last day, YYYY-MM-DD"),
            "heal": dg.Field(bool, default_value=True, description="re-materialize drift"),
        },
        description="Rebuilds every read model from the log in a scratch lake, compares the "
        "gold tables with it, writes audit/reconciliation and heals drifted partitions.",
    )
    def reconcile_gold_with_log(context) -> Iterator[dg.AssetCheckResult]:  # Dagster: untyped
        if context.op_execution_context.job_def.asset_layer.selected_asset_keys:
            # Selecting an asset selects its checks: a run that materializes gold (a sensor's,
            # a click on "Materialize") carries this step too. The rebuild is for runs of
            # checks only (the `reconciliation` job, "Execute checks" in the UI).
            context.log.info("skipped: the reconciliation runs in runs of checks only")
            return
        selected = {key.asset_key for key in context.selected_asset_check_keys}
        tables = [t for t in GOLD_TABLES if asset_key(t) in selected]
        lake_settings = _lake_settings(context, settings)
        config = context.op_execution_context.op_config
        today = datetime.now(UTC).date()
        first, last = reconcile_window(
            lake_settings, _day("from", config.get("from")), _day("to", config.get("to")), today
        )
        done = reconcile(
            lake_settings,
            first,
            last,
            heal=config["heal"],
            instance=context.instance,
            run_id=context.run.run_id,
            today=today,
            tables=tables,
        )
        for spec in tables:
            yield table_result(done, spec)

    return reconcile_gold_with_log


def _days(checked: Iterable[Checked]) -> str:
    """Returns the days of `checked` as text ("whole" for a whole table, "none" for none)."""
    return ", ".join(str(c.diff.day or "whole") for c in checked) or "none"


def table_result(done: Reconciliation, spec: TableSpec) -> dg.AssetCheckResult:
    """Returns `matches_log_rebuild` of one gold table: passed when nothing drifted or all
    drift was healed; a warning when the only drift left could not be re-verified."""
    mine = done.of_table(spec)
    drifted = [c for c in mine if c.diff.drifted]
    remaining = [c for c in mine if c.remaining]
    unverified = [c for c in drifted if c.unsettled and c.healed is not True]
    metadata: dict[str, Any] = {
        "window": f"{done.first}..{done.last}",
        "partitions_compared": len(mine),
        "rows_compared": sum(c.diff.rows_compared for c in mine),
        "mismatches": sum(c.diff.mismatches for c in mine),
        "max_abs_difference": max((c.diff.max_abs_difference for c in mine), default=0.0),
        "drifted": _days(drifted),
        "healed": _days(c for c in mine if c.healed),
        "remaining": _days(remaining),
        "bronze_version": done.bronze_version,
        "reconciliation_run_id": done.run_id,
    }
    if unverified:
        metadata["unverified"] = _days(unverified)
    passed = not remaining and not unverified
    only_unverified = unverified and not remaining
    severity = dg.AssetCheckSeverity.WARN if only_unverified else dg.AssetCheckSeverity.ERROR
    return dg.AssetCheckResult(
        asset_key=asset_key(spec),
        check_name=MATCHES_LOG_REBUILD,
        passed=passed,
        severity=severity,
        metadata=metadata,
    )


def log_audit_check(settings: Settings) -> dg.AssetChecksDefinition:
    """Returns the audit checks of bronze/events (see `operations.log_audit`)."""
    key = dg.AssetKey(BRONZE_EVENTS.asset_key)
    described = {
        OFFSETS_CONTIGUOUS: "Per Kafka partition, every offset between the first and the last "
        "is in bronze/events or bronze/dead_letters, once (a gap is a warning: transactional "
        "producers leave offsets for commit markers; a message written twice is an error).",
        OFFSETS_MATCH_RECORD: "Per Kafka partition, the last offset in bronze equals the offset "
        "of record in the Delta log (txn action).",
        EVENT_IDS_CONSISTENT: "No event_id with two contents (type, version, aggregate, event "
        "time, payload) anywhere in the log.",
        DEAD_LETTERS_ACCOUNTED: "Every dead letter has a rejection code of docs/wire-format.md, and none is also an "
        "event (unless replayed).",
    }
    specs = [
        dg.AssetCheckSpec(name, asset=key, description=text) for name, text in described.items()
    ]

    @dg.multi_asset_check(
        name="audit_event_log",
        specs=specs,
        required_resource_keys={LAKE_RESOURCE_KEY},
        description="Audits the event log: offsets, offsets of record, event ids, dead letters.",
    )
    def audit_event_log(context) -> Iterator[dg.AssetCheckResult]:  # Dagster: untyped context
        yield from audit_results(audit_log(_lake_settings(context, settings)))

    return audit_event_log


def _sample(frame: pl.DataFrame) -> dg.MetadataValue:
    return dg.MetadataValue.md(_markdown(frame.head(_SAMPLE)))


def _markdown(frame: pl.DataFrame) -> str:
    head = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    rows = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.iter_rows()]
    return "\n".join([head, rule, *rows])


def audit_results(audit: LogAudit) -> list[dg.AssetCheckResult]:
    """Returns the four check results of a log audit."""
    key = dg.AssetKey(BRONZE_EVENTS.asset_key)
    base = {"events_version": audit.events_version, "partitions": audit.partitions.height}

    def result(
        name: str, bad: pl.DataFrame, severity: dg.AssetCheckSeverity, **extra: Any
    ) -> dg.AssetCheckResult:
        metadata: dict[str, Any] = {**base, "offending_rows": bad.height, **extra}
        if bad.height:
            metadata["sample"] = _sample(bad)
        return dg.AssetCheckResult(
            asset_key=key, check_name=name, passed=bad.is_empty(), severity=severity,
            metadata=metadata,
        )  # fmt: skip

    error, warn = dg.AssetCheckSeverity.ERROR, dg.AssetCheckSeverity.WARN
    contiguous = (
        result(OFFSETS_CONTIGUOUS, audit.duplicates, error, gaps=audit.gaps.height)
        if audit.duplicates.height
        else result(
            OFFSETS_CONTIGUOUS,
            audit.gaps,
            warn,
            missing_offsets=int(audit.gaps.get_column("missing").sum() or 0),
            reused_offsets=audit.reused.height,
        )
    )
    return [
        contiguous,
        result(OFFSETS_MATCH_RECORD, audit.txn_mismatches, error),
        result(EVENT_IDS_CONSISTENT, audit.conflicts, error, events=audit.events),
        result(
            DEAD_LETTERS_ACCOUNTED,
            pl.concat(
                [
                    audit.overlaps.select(
                        problem=pl.lit("also an event"),
                        where=pl.format(
                            "{}/{}@{}", "kafka_topic", "kafka_partition", "kafka_offset"
                        ),
                    ),
                    audit.unknown_codes.select(
                        problem=pl.lit("unknown error_code"),
                        where=pl.format("{} ({} rows)", "error_code", "rows"),
                    ),
                ]
            ),
            error,
            dead_letters=audit.dead_letters,
            in_flight=audit.in_flight_dead_letters,
        ),
    ]


def reconciliation_job(
    checks: list[dg.AssetChecksDefinition],
) -> dg.UnresolvedAssetJobDefinition:
    """Returns the job running the reconciliation and the log audit."""
    return dg.define_asset_job(
        RECONCILE_JOB,
        selection=dg.AssetSelection.checks(*checks),
        description="Rebuilds every read model from the log, compares and heals the gold tables "
        "over the last closed days (EVENTLAKE_RECONCILE_DAYS), writes audit/reconciliation, and "
        "audits the event log.",
    )


def reconcile_schedule(job: dg.UnresolvedAssetJobDefinition) -> dg.ScheduleDefinition:
    """Returns the nightly schedule of the reconciliation job (02:00 UTC)."""
    return nightly_schedule(
        "reconcile_nightly",
        RECONCILE_CRON,
        job,
        "Reconciles the gold tables with the log and audits the log, every night.",
    )


def reconciliation_parts(
    settings: Settings,
) -> tuple[list[dg.AssetChecksDefinition], dg.UnresolvedAssetJobDefinition, dg.ScheduleDefinition]:
    """Returns the checks, the `reconciliation` job and its nightly schedule, for `defs`."""
    checks = [reconciliation_check(settings), log_audit_check(settings)]
    job = reconciliation_job(checks)
    return checks, job, reconcile_schedule(job)
