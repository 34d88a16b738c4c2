"""Where a measured phase of bench/projections.py spent its wall time, from its Dagster runs.

Every asset records its work in its materialization metadata (`phase_seconds`, from
assets/timings.py): the same on each partition of a range run. Per step, the last
materialization holds the step's totals (a multi-asset's later outputs include the earlier
ones). The breakdown sums them by what the issue asks to see: bronze read, dedup, clean,
typed silver, each table's own compute, Delta writes, restatements, checks; what is left of
the phase's wall time is Dagster's: run creation (per-partition planned events), per-step and
per-partition events, the executor.
"""

from __future__ import annotations

import dagster as dg

from assets.timings import PHASE_SECONDS

# The silver/events and typed-silver phases, reported under their own names.
SILVER_PHASES = {
    "bronze_read": "bronze read",
    "dedup": "dedup (first copy over the log)",
    "clean": "clean and upcast (silver/events)",
    "incremental": "incremental silver (append)",
    "checks": "silver checks",
}
TYPED_STEP = "typed_silver"
SHARED = {"write": "Delta writes", "restatements": "restatement ledger"}


def step_phases(instance: dg.DagsterInstance, run_id: str) -> dict[str, dict[str, float]]:
    """Returns, per step of the run, the phase seconds its assets recorded."""
    steps: dict[str, dict[str, float]] = {}
    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
    ).records
    for record in records:
        event = record.event_log_entry.dagster_event
        if event is None or event.step_key is None:
            continue
        value = event.step_materialization_data.materialization.metadata.get(PHASE_SECONDS)
        if isinstance(value, dg.JsonMetadataValue) and isinstance(value.data, dict):
            steps[event.step_key] = {k: float(v) for k, v in value.data.items()}
    return steps


def breakdown(instance: dg.DagsterInstance, run_ids: list[str], wall: float) -> dict[str, float]:
    """Returns the phase's wall seconds by part, largest first; Dagster's is the wall time no
    asset recorded."""
    parts: dict[str, float] = {}

    def add(name: str, seconds: float) -> None:
        parts[name] = parts.get(name, 0.0) + seconds

    for run_id in run_ids:
        for step, phases in step_phases(instance, run_id).items():
            table = step.replace("__", "/")
            for phase, seconds in phases.items():
                if phase in SHARED:
                    add(SHARED[phase], seconds)
                elif table == "silver/events" and phase in SILVER_PHASES:
                    add(SILVER_PHASES[phase], seconds)
                elif step == TYPED_STEP:
                    add("typed silver (read, decode)", seconds)
                else:
                    add(table, seconds)
    add("Dagster (runs, events, steps)", wall - sum(parts.values()))
    ranked = sorted(parts.items(), key=lambda part: -part[1])
    return {name: round(seconds, 2) for name, seconds in ranked}
