"""Reconciliation: corrupt gold (and silver) partitions, reconcile, see exactly those drifts
reported and healed, and the stored gold equal to a fresh rebuild from the log."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from bronze_log_rows import append_bronze, event, login, noon, order
from polars.testing import assert_frame_equal

from assets.restatements import CAUSE_TAG
from cli.main import main
from eventlake import lake
from eventlake.catalog import (
    AUDIT_RECONCILIATION,
    GOLD_DAILY_ACTIVE_USERS,
    GOLD_DAY_TABLES,
    GOLD_REVENUE_DAILY,
    GOLD_TABLES,
    SILVER_DAY_TABLES,
    SILVER_ORDERS,
    SILVER_USER_ACTIVITY_DAILY,
    TableSpec,
)
from eventlake.settings import Settings
from operations.reconcile_compare import row_differences, summarize
from orchestration.materialize import materialize_days
from orchestration.reconcile import (
    RECONCILIATION_TAG,
    is_unsettled,
    moved_days,
    reconcile,
    reconcile_window,
)

TODAY = datetime.now(UTC).date()


def ago(days: int) -> date:
    return TODAY - timedelta(days=days)


def build_lake(settings: Settings, instance: dg.DagsterInstance) -> None:
    """A week of logins, orders in two currencies and a product view, materialized."""
    view = {"user_id": "u3", "product_id": "P0001", "view_duration": 2.0}
    append_bronze(
        settings,
        [
            login("l1", "u1", noon(ago(6))),
            order("o1", "u1", "A", 10.0, "EUR", noon(ago(5))),
            event("v1", "product_view", noon(ago(4)), view, topic="commerce_events"),
            order("o2", "u2", "B", 25.0, "USD", noon(ago(4))),
            order("o3", "u3", "C", 40.0, "EUR", noon(ago(3))),
            login("l2", "u2", noon(ago(2))),
            order("o4", "u1", "D", 5.0, "EUR", noon(ago(1))),
            login("l3", "u3", noon(ago(0))),
        ],
    )
    materialize_days(settings, ago(6), TODAY, instance=instance)


def fresh_rebuild(settings: Settings, root: Path, instance: dg.DagsterInstance) -> Settings:
    """Returns a second lake holding every read model rebuilt from `settings`' log."""
    fresh = replace(settings, lake_root=str(root), log_root=settings.lake_root)
    materialize_days(fresh, ago(6), TODAY, instance=instance)
    return fresh


def gold(settings: Settings, spec: TableSpec) -> pl.DataFrame:
    return lake.scan(settings, spec).collect().sort(list(spec.grain))


def corrupt_revenue(settings: Settings, day: date, revenue: float) -> None:
    rows = gold(settings, GOLD_REVENUE_DAILY).filter(pl.col("day") == day)
    lake.replace_days(settings, GOLD_REVENUE_DAILY, rows.with_columns(revenue=pl.lit(revenue)),
                      day, day)  # fmt: skip


def drop_day(settings: Settings, spec: TableSpec, day: date) -> None:
    lake.replace_days(settings, spec, spec.empty(), day, day)


def reported(settings: Settings) -> pl.DataFrame:
    return lake.scan(settings, AUDIT_RECONCILIATION).collect()


def test_row_differences_by_grain_with_a_tolerance() -> None:
    spec = GOLD_REVENUE_DAILY
    d1, d2 = date(2025, 1, 1), date(2025, 1, 2)
    base = {"day": [d1, d1, d2], "currency": ["EUR", "USD", "EUR"], "orders": [1, 2, 3]}
    stored = pl.DataFrame(
        {**base, "revenue": [10.0, 20.0 + 1e-12, 30.0], "avg_order_value": [10.0, 10.0, None]}
    )
    rebuilt = pl.DataFrame(
        {**base, "revenue": [10.0, 20.0, 31.5], "avg_order_value": [10.0, 10.0, 10.5]}
    ).vstack(pl.DataFrame({"day": [d2], "currency": ["CHF"], "orders": [1], "revenue": [-7.0],
                           "avg_order_value": [-7.0]}))  # fmt: skip
    diffs = row_differences(stored.lazy(), rebuilt.lazy(), spec).collect()
    found = summarize(spec.name, diffs, [d1, d2, date(2025, 1, 3)])
    assert [(p.day, p.rows_compared, p.mismatches, p.max_abs_difference) for p in found] == [
        (d1, 2, 0, 0.0),  # 1e-12 on 20 is within the tolerance
        (d2, 2, 2, 10.5),  # 30 vs 31.5 (and null vs 10.5); CHF missing from stored (7)
        (date(2025, 1, 3), 0, 0, 0.0),
    ]


def test_the_window_defaults_to_the_closed_days(settings: Settings) -> None:
    settings = replace(settings, start_date=date(2025, 1, 1), reconcile_days=3)
    assert reconcile_window(settings, None, None, date(2025, 2, 10)) == (
        date(2025, 2, 7),
        date(2025, 2, 9),
    )
    assert reconcile_window(settings, None, None, date(2025, 1, 2)) == (
        date(2025, 1, 1),
        date(2025, 1, 1),
    )
    moved = frozenset({date(2025, 2, 9)})
    assert [is_unsettled(d, moved) for d in (date(2025, 2, 7), date(2025, 2, 8), None)] == [
        False,
        True,  # its sessions and funnel entries may end on the 9th
        True,  # an unpartitioned table reads every day
    ]
    assert not is_unsettled(date(2025, 2, 8), frozenset())
    assert is_unsettled(date(2025, 1, 1), None)


def test_days_that_commits_touched_since_a_version(settings: Settings) -> None:
    version = append_bronze(settings, [login("a", "u1", noon(ago(3)))])
    assert moved_days(settings, version) == frozenset()
    append_bronze(settings, [login("b", "u1", noon(ago(2))), login("c", "u2", noon(ago(0)))])
    assert moved_days(settings, version) == {ago(2), ago(0)}


def test_corrupted_partitions_are_reported_and_healed(
    tmp_path: Path, settings: Settings, instance: dg.DagsterInstance
) -> None:
    build_lake(settings, instance)
    corrupt_revenue(settings, ago(3), 999.0)
    drop_day(settings, GOLD_DAILY_ACTIVE_USERS, ago(3))
    # Silver drift too: day -5 lost its orders and its gold is wrong; re-running the gold
    # from stored silver cannot heal it, rebuilding the silver day from the log does.
    drop_day(settings, SILVER_ORDERS, ago(5))
    corrupt_revenue(settings, ago(5), 1.0)

    done = reconcile(settings, ago(7), ago(1), instance=instance)

    report = reported(settings)
    # gold: 6 days with events in the window, 2 whole tables; silver: the 7 rebuilt days
    # (the first event day through today), silver/users whole
    checked = len(GOLD_DAY_TABLES) * 6 + 2 + len(SILVER_DAY_TABLES) * 7 + 1
    assert report.height == checked
    assert report.get_column("run_id").unique().to_list() == [done.run_id]
    drift = report.filter(pl.col("mismatches") > 0).sort("table", "day")
    assert drift.select("table", "day", "mismatches", "max_abs_difference", "healed").rows() == [
        (GOLD_DAILY_ACTIVE_USERS.name, ago(3), 1, 3.0, True),  # the missing row's largest figure
        (GOLD_REVENUE_DAILY.name, ago(5), 1, 9.0, True),
        (GOLD_REVENUE_DAILY.name, ago(3), 1, 959.0, True),
        (SILVER_ORDERS.name, ago(5), 1, 10.0, True),  # its total_amount
    ]
    assert report.filter(pl.col("mismatches") == 0).get_column("healed").null_count() == checked - 4
    assert not done.remaining

    fresh = fresh_rebuild(settings, tmp_path / "fresh", instance)
    for spec in GOLD_TABLES:
        assert_frame_equal(gold(settings, spec), gold(fresh, spec), check_exact=False)
    assert_frame_equal(gold_orders(settings), gold_orders(fresh))
    # Exactly the drifted partitions: the silver of day -5 first, then one gold run per range
    # (both tables of day -3 together), each from silver equal to the log.
    healing = [r for r in instance.get_runs() if r.tags.get(CAUSE_TAG) == "reconciliation"]
    silver = tuple(sorted(t.name for t in SILVER_DAY_TABLES))
    assert runs_of(instance, healing) == sorted(
        [
            (ago(5), silver),
            (ago(5), (GOLD_REVENUE_DAILY.name,)),
            (ago(3), tuple(sorted((GOLD_REVENUE_DAILY.name, GOLD_DAILY_ACTIVE_USERS.name)))),
        ]
    )
    assert {r.tags[RECONCILIATION_TAG] for r in healing} == {done.run_id}


def test_a_silver_day_outside_the_window_that_feeds_it_is_healed_first(
    tmp_path: Path, settings: Settings, instance: dg.DagsterInstance
) -> None:
    """Day -20 is outside the 7-day window, but the window's MAU counts its users: with that
    silver day behind the log, rewriting the window's gold from stored silver cannot heal it."""
    append_bronze(settings, [login("l0", "u9", noon(ago(20)))])
    materialize_days(settings, ago(20), ago(20), instance=instance)
    build_lake(settings, instance)
    drop_day(settings, SILVER_USER_ACTIVITY_DAILY, ago(20))
    materialize_days(settings, ago(7), ago(1), tables=[GOLD_DAILY_ACTIVE_USERS], instance=instance)
    mau = gold(settings, GOLD_DAILY_ACTIVE_USERS).filter(pl.col("day") == ago(6))["mau"]
    assert mau.to_list() == [1]  # u1 only: u9's day -20 is missing

    done = reconcile(settings, ago(7), ago(1), instance=instance)

    drift = reported(settings).filter(pl.col("mismatches") > 0)
    assert drift.filter(pl.col("table").str.starts_with("silver/")).select(
        "table", "day", "healed"
    ).rows() == [(SILVER_USER_ACTIVITY_DAILY.name, ago(20), True)]
    # every window day's MAU counted u9's day -20 and was healed from the healed silver
    healed = drift.filter(pl.col("table") == GOLD_DAILY_ACTIVE_USERS.name)
    assert healed.get_column("day").sort().to_list() == [ago(d) for d in range(7, 0, -1)]
    assert healed.get_column("healed").all()
    mau = gold(settings, GOLD_DAILY_ACTIVE_USERS).filter(pl.col("day") == ago(6))["mau"]
    assert mau.to_list() == [2]
    assert not done.remaining
    fresh = replace(settings, lake_root=str(tmp_path / "fresh"), log_root=settings.lake_root)
    materialize_days(fresh, ago(20), TODAY, instance=instance)
    window = pl.col("day").is_between(ago(7), ago(1))
    assert_frame_equal(
        gold(settings, GOLD_DAILY_ACTIVE_USERS).filter(window),
        gold(fresh, GOLD_DAILY_ACTIVE_USERS).filter(window),
    )
    assert_frame_equal(
        lake.scan(settings, SILVER_USER_ACTIVITY_DAILY).collect().sort("day", "user_id"),
        lake.scan(fresh, SILVER_USER_ACTIVITY_DAILY).collect().sort("day", "user_id"),
    )


def runs_of(
    instance: dg.DagsterInstance, runs: list[dg.DagsterRun]
) -> list[tuple[date, tuple[str, ...]]]:
    """Returns each run's (single) day and the tables it materialized, sorted."""
    out = []
    for run in runs:
        first = run.tags["dagster/asset_partition_range_start"]
        assert run.tags["dagster/asset_partition_range_end"] == first
        logs = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
        keys = {e.asset_materialization.asset_key.to_user_string() for e in logs}
        out.append((date.fromisoformat(first), tuple(sorted(keys))))
    return sorted(out)


def gold_orders(settings: Settings) -> pl.DataFrame:
    return lake.scan(settings, SILVER_ORDERS).collect().sort("event_id")


def test_cli_clean_lake_exits_0_and_no_heal_leaves_drift_with_exit_1(
    settings: Settings,
    instance: dg.DagsterInstance,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    build_lake(settings, instance)
    monkeypatch.setenv("EVENTLAKE_LAKE_ROOT", settings.lake_root)
    capsys.readouterr()

    assert main(["reconcile"]) == 0
    clean = capsys.readouterr()
    assert clean.out.strip().splitlines()[-1] == "no drift remains"
    assert reported(settings).get_column("mismatches").sum() == 0

    corrupt_revenue(settings, ago(4), 0.5)
    argv = ["reconcile", "--no-heal", "--audit", "--from", str(ago(4)), "--to", str(ago(4))]
    assert main(argv) == 1
    kept = capsys.readouterr()
    # The test helpers write bronze without offsets of record (2 topic-partitions).
    assert kept.err.strip().splitlines() == [
        "eventlake reconcile: drift remains in 1 partition(s); the log audit found 2 problem(s)"
    ]
    audit = kept.out[kept.out.index("log audit of") :].splitlines()
    assert audit[2].split() == ["offsets_match_record", "2", "partition(s)", "differ", "from",
                                "their", "offset", "of", "record"]  # fmt: skip
    line = next(x for x in kept.out.splitlines() if x.strip().startswith(GOLD_REVENUE_DAILY.name))
    assert line.split()[1:] == ["1", "1", "1", "24.5", "1", "0"]  # days rows mismatches ...
    revenue = gold(settings, GOLD_REVENUE_DAILY).filter(pl.col("day") == ago(4))
    assert revenue.item(0, "revenue") == 0.5  # left as it was
    last = reported(settings).filter(pl.col("mismatches") > 0)
    assert last.select("table", "day", "healed").rows() == [
        (GOLD_REVENUE_DAILY.name, ago(4), False)
    ]

    assert main(["reconcile", "--to", str(TODAY + timedelta(days=1))]) == 2
    bad = capsys.readouterr().err.strip().splitlines()
    assert len(bad) == 1 and bad[0].startswith(f"eventlake: --to {TODAY + timedelta(days=1)} is")
