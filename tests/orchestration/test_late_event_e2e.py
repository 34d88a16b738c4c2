"""End to end: late events flow through the bronze sensor and the follow-up sensor, re-materialize
exactly the partitions that read them in a few runs, and leave every table equal to a rebuild
from scratch."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
from bronze_log_rows import append_bronze, event, login, noon, order
from polars.testing import assert_frame_equal

from eventlake import lake
from eventlake.catalog import BRONZE_EVENTS, GOLD_REVENUE_DAILY, TABLES
from eventlake.settings import Settings
from orchestration.definitions import build_definitions
from orchestration.jobs import DAY_TABLES, WHOLE_TABLES
from orchestration.materialize import materialize_days
from orchestration.resources import LakeResource

TODAY = datetime.now(UTC).date()
ORDER = [t.name for t in (*DAY_TABLES, *WHOLE_TABLES)]  # dependency order


def ago(days: int) -> date:
    return TODAY - timedelta(days=days)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), UTC)


def view(event_id: str, user: str, when: datetime, **kw: object) -> dict:
    payload = {"user_id": user, "product_id": "P0001", "view_duration": 3.5}
    return event(event_id, "product_view", when, payload, topic="commerce_events", **kw)


def initial_log() -> list[dict]:
    s1 = {"session_id": "s1"}
    return [
        event(
            "sig4",
            "user_signup",
            noon(ago(13)),
            {"user_id": "u4", "signup_source": "ads", "plan": "free"},
        ),
        login("l1", "u1", noon(ago(12))),
        login("x1", "u5", at(ago(11), 23, 50), metadata=s1),
        login("x2", "u5", at(ago(10), 0, 10), metadata=s1),
        view("v4", "u4", at(ago(5), 9)),
        order("o4", "u4", "o4", 20.0, "EUR", at(ago(5), 10)),
        login("l9", "u9", noon(ago(4))),
        login("l1b", "u1", noon(ago(3))),
        order("b", "u2", "o1", 10.0, "EUR", noon(ago(3))),
        login("c", "u3", noon(ago(0))),
    ]


def late_log() -> list[dict]:
    return [
        login("e", "u9", noon(ago(10))),  # u9's first day is now -10, not -4
        order("d", "u2", "o1", 10.0, "EUR", noon(ago(10)) - timedelta(hours=1)),  # earlier copy
        login("x3", "u5", at(ago(10), 0, 20), metadata={"session_id": "s1"}),  # longer session
    ]


def followups(defs: dg.Definitions, instance: dg.DagsterInstance, settings: Settings,
              run: dg.ExecuteInProcessResult) -> list[dg.RunRequest]:  # fmt: skip
    """What the follow_ups sensor requests after `run`."""
    sensor = defs.resolve_sensor_def("follow_ups")
    with dg.build_run_status_sensor_context(
        sensor_name="follow_ups",
        dagster_event=run.get_run_success_event(),
        dagster_instance=instance,
        dagster_run=run.dagster_run,
        resources={"lake": LakeResource.from_settings(settings)},
    ) as context:
        return list(sensor(context) or [])


def execute(defs: dg.Definitions, instance: dg.DagsterInstance,
            request: dg.RunRequest) -> dg.ExecuteInProcessResult:  # fmt: skip
    """Runs a request of the follow_ups sensor as the daemon would (the lake is the defs')."""
    job = defs.resolve_job_def(request.job_name or "")
    result = job.execute_in_process(
        instance=instance,
        tags=request.tags,
        asset_selection=request.asset_selection,
    )
    assert result.success
    return result


def planned(request: dg.RunRequest) -> tuple[str, str, str, set[str]]:
    """A request as (job, first day, last day, selected assets)."""
    tags = request.tags
    first = tags.get("dagster/asset_partition_range_start", "")
    last = tags.get("dagster/asset_partition_range_end", "")
    keys = {k.to_user_string() for k in request.asset_selection or []}
    return request.job_name or "", first, last, keys


def rebuilt(settings: Settings, tmp_path: Path) -> Settings:
    """A second lake with the same bronze log, every table built from scratch."""
    fresh = replace(settings, lake_root=str(tmp_path / "fresh"))
    shutil.copytree(lake.table_uri(settings, BRONZE_EVENTS), lake.table_uri(fresh, BRONZE_EVENTS))
    with dg.instance_for_test() as instance:
        materialize_days(fresh, ago(14), ago(0), instance=instance)
    return fresh


def test_late_events_rematerialize_exactly_the_partitions_that_read_them(
    settings: Settings, instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    settings = replace(settings, start_date=ago(20))
    defs = build_definitions(settings)
    append_bronze(settings, initial_log())
    materialize_days(settings, ago(14), ago(0), instance=instance)
    resources = {"lake": LakeResource.from_settings(settings)}
    bronze_sensor = defs.resolve_sensor_def("bronze_commits")
    with dg.build_sensor_context(instance=instance, resources=resources) as context:
        cursor = bronze_sensor.evaluate_tick(context).cursor

    append_bronze(settings, late_log())
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources) as ctx:
        (request,) = bronze_sensor.evaluate_tick(ctx).run_requests
    assert request.tags["dagster/asset_partition_range_start"] == ago(10).isoformat()
    assert request.tags["dagster/asset_partition_range_end"] == ago(10).isoformat()
    job = defs.resolve_job_def("ingested_days")
    run = job.execute_in_process(instance=instance, tags=request.tags, resources=resources)
    assert run.success

    asked = followups(defs, instance, settings, run)
    sessions = {"silver/sessions", "gold/sessions_daily"}  # a session of D reads D-1..D+1
    order_tables = {"gold/revenue_daily", "gold/revenue_by_product", "gold/product_performance",
                    "gold/revenue_hourly"}  # fmt: skip
    assert sorted(planned(r) for r in asked) == sorted([
        ("whole_tables", "", "", set()),  # silver/users, cohorts and RFM read every day
        # the funnel of D reads D..D+1
        # one run: the days two apart at most share it. The funnel of D reads D..D+1; the 29
        # days after for DAU/WAU/MAU up to today; D+1 for the lifecycle, D-1..D+1 for sessions;
        # o1 now counts on -10, no longer on -3 (revenue, products, funnel of -4 and -3);
        # u9 (-4) and u2 (-3) are no longer new (lifecycle)
        ("follow_ups", ago(11).isoformat(), ago(0).isoformat(), {
            *sessions, *order_tables, "gold/daily_active_users", "gold/funnel_daily",
            "gold/lifecycle_daily",
        }),
    ])  # fmt: skip
    (follow,) = [r for r in asked if r.job_name == "follow_ups"]
    checks = {(k.asset_key.to_user_string(), k.name) for k in follow.asset_check_keys or []}
    assert ("gold/daily_active_users", "dau_le_wau_le_mau") in checks  # written with the asset
    assert not any(name == "matches_log_rebuild" for _, name in checks)  # nightly only
    for request in asked:
        result = execute(defs, instance, request)
        assert not followups(defs, instance, settings, result)  # the chain ends

    fresh = rebuilt(settings, tmp_path)
    for spec in TABLES:
        if spec.layer not in ("silver", "gold"):
            continue
        got = lake.scan(settings, spec).collect()
        want = lake.scan(fresh, spec).collect()
        keys = [c for c in got.columns if got.schema[c] != pl.Float64]
        assert_frame_equal(got.sort(keys), want.sort(keys), check_exact=False)

    revenue = lake.scan(settings, GOLD_REVENUE_DAILY).sort("day").collect()
    assert revenue.select("day", "orders").rows() == [(ago(10), 1), (ago(5), 1)]
