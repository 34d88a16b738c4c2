"""A failed blocking check on silver stops everything built from it: the run fails, so the
follow-up sensor (which follows successful runs only) requests nothing after it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import polars as pl
from bronze_log_rows import append_bronze, login, noon

from eventlake import lake
from eventlake.catalog import SILVER_EVENTS
from eventlake.settings import Settings
from orchestration.definitions import build_definitions
from orchestration.materialize import materialize_days
from orchestration.partitions import range_tags
from orchestration.resources import LakeResource

TODAY = datetime.now(UTC).date()


def ago(days: int) -> date:
    return TODAY - timedelta(days=days)


def test_a_failed_blocking_silver_check_stops_the_run(
    settings: Settings, instance: dg.DagsterInstance
) -> None:
    settings = replace(settings, start_date=ago(5))
    defs = build_definitions(settings)
    append_bronze(settings, [login("a", "u1", noon(ago(2))), login("b", "u2", noon(ago(1)))])
    materialize_days(settings, ago(5), ago(0), instance=instance)

    # Corrupt silver: event "a" (day -2) also sits on day -4. Then a late event lands on -2.
    stray = lake.scan(settings, SILVER_EVENTS).filter(pl.col("event_id") == "a").collect()
    lake.replace_days(settings, SILVER_EVENTS, stray.with_columns(event_date=pl.lit(ago(4))),
                      ago(4), ago(4))  # fmt: skip
    append_bronze(settings, [login("c", "u3", noon(ago(2)))])
    job = defs.resolve_job_def("ingested_days")
    run = job.execute_in_process(
        instance=instance,
        tags=range_tags(ago(2), ago(2)),
        resources={"lake": LakeResource.from_settings(settings)},
        raise_on_error=False,
    )
    assert not run.success
    written = {e.asset_key.to_user_string() for e in run.get_asset_materialization_events()}
    # Nothing built from the bad silver; the event-id index reads bronze only.
    assert written == {"silver/events", "silver/event_index"}
    assert run.dagster_run.status == dg.DagsterRunStatus.FAILURE
