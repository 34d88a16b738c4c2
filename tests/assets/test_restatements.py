"""The restatement ledger: the pure diff of old and new gold rows, and real Dagster runs that
re-materialize days after late events and record what changed in audit/restatements."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
from bronze_log_rows import append_bronze, event, login, order
from polars.testing import assert_frame_equal

from assets.day_range import LAKE_RESOURCE_KEY
from assets.restatements import CAUSE_TAG, restated_figures, run_cause
from eventlake import lake
from eventlake.catalog import (
    AUDIT_RESTATEMENTS,
    BY_NAME,
    GOLD_COHORT_RETENTION,
    GOLD_CUSTOMER_RFM,
    GOLD_DAILY_ACTIVE_USERS,
    GOLD_FUNNEL_DAILY,
    GOLD_REVENUE_DAILY,
)
from eventlake.settings import Settings
from orchestration.jobs import DAY_TABLES, SOURCES, day_assets, whole_assets
from orchestration.materialize import materialize_days
from orchestration.partitions import range_tags
from orchestration.resources import LakeResource

D1, D2, D3 = date(2024, 3, 4), date(2024, 3, 5), date(2024, 3, 6)  # D1 is a Monday
PARTITIONS = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_offset=1)
CHANGES = {"day": pl.Date(), "key": pl.String(), "column": pl.String(),
           "old_value": pl.Float64(), "new_value": pl.Float64()}  # fmt: skip


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), UTC)


def changes(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=CHANGES, orient="row")


def revenue(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=GOLD_REVENUE_DAILY.schema, orient="row")


# --- the pure diff ---------------------------------------------------------------------------


def test_changed_appeared_and_vanished_figures_are_restated_float_noise_and_new_days_not() -> None:
    old = revenue([(D1, "EUR", 2, 30.0, 15.0), (D1, "USD", 1, 10.0, 10.0),
                   (D2, "EUR", 1, 0.1 + 0.2, 0.3)])  # fmt: skip
    new = revenue([
        (D1, "EUR", 3, 45.0, 15.0 * (1 + 1e-12)),  # orders and revenue changed; AOV is noise
        (D1, "GBP", 1, 7.0, 7.0),  # appeared
        (D2, "EUR", 1, 0.3, 0.1 + 0.2),  # 0.30000000000000004 vs 0.3: noise, both ways
        (D3, "EUR", 4, 40.0, 10.0),  # D3 held no rows: a first write
    ])  # fmt: skip

    found = restated_figures(GOLD_REVENUE_DAILY, old, new)

    eur, gbp, usd = '{"currency":"EUR"}', '{"currency":"GBP"}', '{"currency":"USD"}'
    assert_frame_equal(found, changes([
        (D1, eur, "orders", 2.0, 3.0), (D1, eur, "revenue", 30.0, 45.0),
        (D1, gbp, "avg_order_value", None, 7.0), (D1, gbp, "orders", None, 1.0),
        (D1, gbp, "revenue", None, 7.0),
        (D1, usd, "avg_order_value", 10.0, None), (D1, usd, "orders", 1.0, None),
        (D1, usd, "revenue", 10.0, None),
    ]))  # fmt: skip
    assert restated_figures(GOLD_REVENUE_DAILY, old, old).is_empty()
    assert restated_figures(GOLD_REVENUE_DAILY, old.filter(pl.col("day") == D3), new).is_empty()


def test_a_day_that_vanishes_whole_is_restated() -> None:
    old = revenue([(D1, "EUR", 1, 5.0, 5.0)])
    found = restated_figures(GOLD_REVENUE_DAILY, old, revenue([]))
    assert found.select("column", "old_value", "new_value").rows() == [
        ("avg_order_value", 5.0, None), ("orders", 1.0, None), ("revenue", 5.0, None),
    ]  # fmt: skip


def test_figures_still_open_when_written_are_not_restated() -> None:
    old = revenue([(D1, "EUR", 1, 5.0, 5.0), (D2, "EUR", 1, 5.0, 5.0)])
    new = revenue([(D1, "EUR", 2, 9.0, 4.5), (D2, "EUR", 2, 9.0, 4.5)])
    # D1 was written 20 minutes after it ended (still settling), D2 an hour after.
    written = {D1: at(D2, 0, 20), D2: at(D3, 1)}

    found = restated_figures(GOLD_REVENUE_DAILY, old, new, written_at=written)

    assert found["day"].unique().to_list() == [D2]
    assert found.height == 3
    # The funnel of a day counts the next day too: written the day after, it was still open.
    funnel = pl.DataFrame(
        [(D1, 10, 2, 1, 0.2, 0.5, 0.1, 60.0)], schema=GOLD_FUNNEL_DAILY.schema, orient="row"
    )
    later = funnel.with_columns(ordered=pl.lit(2, pl.Int64))
    assert restated_figures(GOLD_FUNNEL_DAILY, funnel, later, written_at=at(D2, 12)).is_empty()
    assert restated_figures(GOLD_FUNNEL_DAILY, funnel, later, written_at=at(D3, 1)).rows() == [
        (D1, "{}", "ordered", 1.0, 2.0)
    ]


def test_cohort_rows_are_keyed_by_week_offset_on_their_cohort_week() -> None:
    def cohorts(rows: list[tuple]) -> pl.DataFrame:
        return pl.DataFrame(rows, schema=GOLD_COHORT_RETENTION.schema, orient="row")

    old = cohorts([(D1, 0, 4, 4, 1.0), (D1, 1, 4, 2, 0.5)])
    new = cohorts([(D1, 0, 4, 4, 1.0), (D1, 1, 4, 3, 0.75), (D1, 2, 4, 1, 0.25)])

    # Written on D1 + 20 days: week 1 (D1+7..D1+13) had ended, week 2 was still open.
    found = restated_figures(GOLD_COHORT_RETENTION, old, new, written_at=at(D1 + timedelta(20), 9))

    assert_frame_equal(found, changes([
        (D1, '{"week_offset":1}', "active_users", 2.0, 3.0),
        (D1, '{"week_offset":1}', "retention_rate", 0.5, 0.75),
    ]))  # fmt: skip


def test_rfm_restates_figures_of_the_same_as_of_day_only_and_skips_segments() -> None:
    def rfm(as_of: date, rows: list[tuple]) -> pl.DataFrame:
        return pl.DataFrame(
            [(*r, D1, as_of, 0) for r in rows], schema=GOLD_CUSTOMER_RFM.schema, orient="row"
        )

    old = rfm(D2, [("u1", 1, 1, 10.0, 1, 1, 1, "lost")])
    same_day = rfm(D2, [("u1", 1, 2, 30.0, 1, 1, 1, "at_risk"), ("u2", 0, 1, 5.0, 5, 1, 1, "x")])
    next_day = rfm(D3, [("u1", 2, 1, 10.0, 1, 1, 1, "lost")])

    found = restated_figures(GOLD_CUSTOMER_RFM, old, same_day)

    u1, u2 = '{"user_id":"u1"}', '{"user_id":"u2"}'
    assert found.filter(pl.col("key") == u1).rows() == [
        (D2, u1, "frequency", 1.0, 2.0), (D2, u1, "monetary", 10.0, 30.0),
    ]  # fmt: skip
    assert found.filter(pl.col("key") == u2)["column"].to_list() == [
        "f_score", "frequency", "m_score", "monetary", "r_score", "recency_days",
        "unvalued_orders",
    ]  # fmt: skip
    assert found.filter(pl.col("key") == u2)["old_value"].is_null().all()
    # A new as-of day is a new snapshot: recency grew because time passed, nothing restated.
    assert restated_figures(GOLD_CUSTOMER_RFM, old, next_day).is_empty()


def test_the_cause_comes_from_the_run_tags() -> None:
    assert run_cause({}) == "late_events"
    assert run_cause({"dagster/backfill": "abc"}) == "backfill"
    assert run_cause({"dagster/backfill": "abc", CAUSE_TAG: "replay"}) == "replay"
    assert run_cause({CAUSE_TAG: "reconciliation"}) == "reconciliation"


# --- real Dagster runs -----------------------------------------------------------------------


def run_day(
    settings: Settings, day: date, home: Path, tags: dict[str, str] | None = None
) -> dg.ExecuteInProcessResult:
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        result = dg.materialize(
            [*SOURCES, *day_assets(PARTITIONS), *whole_assets()],
            instance=instance,
            resources={LAKE_RESOURCE_KEY: LakeResource.from_settings(settings)},
            tags={**range_tags(day, day), **(tags or {})},
            selection=[dg.AssetKey(t.asset_key) for t in DAY_TABLES],
            raise_on_error=False,
        )
    assert result.success
    return result


def ledger(settings: Settings, table: str = GOLD_REVENUE_DAILY.name) -> pl.DataFrame:
    frame = lake.scan(settings, AUDIT_RESTATEMENTS).filter(pl.col("table") == table)
    return frame.sort("column").collect()


def test_a_late_order_restates_the_day_it_lands_on(settings: Settings, tmp_path: Path) -> None:
    append_bronze(settings, [order("a", "u1", "o1", 10.0, "EUR", at(D1, 10))])
    run_day(settings, D1, tmp_path / "h1")
    assert lake.open_table(settings, AUDIT_RESTATEMENTS) is None  # a first write: no ledger
    before = lake.open_table(settings, GOLD_REVENUE_DAILY).version()  # type: ignore[union-attr]

    append_bronze(settings, [order("b", "u2", "o2", 25.0, "EUR", at(D1, 11))])  # late
    second = run_day(settings, D1, tmp_path / "h2")

    after = lake.open_table(settings, GOLD_REVENUE_DAILY).version()  # type: ignore[union-attr]
    found = ledger(settings)
    assert found.select("day", "key", "column", "old_value", "new_value").rows() == [
        (D1, '{"currency":"EUR"}', "avg_order_value", 10.0, 17.5),
        (D1, '{"currency":"EUR"}', "orders", 1.0, 2.0),
        (D1, '{"currency":"EUR"}', "revenue", 10.0, 35.0),
    ]
    assert set(found.select("old_version", "new_version").rows()) == {(before, after)}
    assert before < after
    assert set(found["cause"]) == {"late_events"}
    assert set(found["run_id"]) == {second.run_id}
    everything = lake.scan(settings, AUDIT_RESTATEMENTS).collect()
    layers = {BY_NAME[name].layer for name in everything["table"]}
    assert layers == {"gold"}  # silver is never ledgered
    assert GOLD_DAILY_ACTIVE_USERS.name in set(everything["table"])  # u2 is one more active user

    ledger_version = lake.open_table(settings, AUDIT_RESTATEMENTS).version()  # type: ignore[union-attr]
    run_day(settings, D1, tmp_path / "h3")  # nothing changed: nothing recorded
    assert lake.scan(settings, AUDIT_RESTATEMENTS).collect().height == everything.height
    assert lake.open_table(settings, AUDIT_RESTATEMENTS).version() == ledger_version  # type: ignore[union-attr]


def test_a_tagged_run_records_its_cause(settings: Settings, tmp_path: Path) -> None:
    append_bronze(settings, [order("a", "u1", "o1", 10.0, "EUR", at(D1, 10))])
    run_day(settings, D1, tmp_path / "h1")
    append_bronze(settings, [order("b", "u1", "o2", 5.0, "EUR", at(D1, 11))])

    run_day(settings, D1, tmp_path / "h2", tags={CAUSE_TAG: "reconciliation"})

    found = ledger(settings)
    assert found.select("column", "old_value", "new_value").rows() == [
        ("avg_order_value", 10.0, 7.5), ("orders", 1.0, 2.0), ("revenue", 10.0, 15.0),
    ]  # fmt: skip
    assert set(found["cause"]) == {"reconciliation"}


def test_todays_figures_growing_are_not_restatements(settings: Settings, tmp_path: Path) -> None:
    today = datetime.now(UTC).date()
    append_bronze(settings, [order("a", "u1", "o1", 10.0, "EUR", at(today, 0))])
    run_day(settings, today, tmp_path / "h1")
    append_bronze(settings, [order("b", "u2", "o2", 5.0, "EUR", at(today, 0, 1))])

    run_day(settings, today, tmp_path / "h2")

    stored = lake.scan(settings, GOLD_REVENUE_DAILY).collect()
    assert stored.select("orders", "revenue").rows() == [(2, 15.0)]  # the day did change
    assert lake.open_table(settings, AUDIT_RESTATEMENTS) is None


def test_unpartitioned_tables_are_ledgered(settings: Settings) -> None:
    signup = {"signup_source": "ads", "plan": "free"}
    append_bronze(settings, [
        event("s1", "user_signup", at(D1, 8), {"user_id": "u1", **signup}),
        order("a", "u1", "o1", 10.0, "EUR", at(D1, 10)),
        login("l1", "u9", at(D2, 9)),
    ])  # fmt: skip
    materialize_days(settings, D1, D2)
    assert lake.open_table(settings, AUDIT_RESTATEMENTS) is None

    append_bronze(settings, [  # late: a second signup of D1's cohort, who also ordered
        event("s2", "user_signup", at(D1, 12), {"user_id": "u2", **signup}),
        order("b", "u2", "o2", 25.0, "EUR", at(D1, 13)),
    ])  # fmt: skip
    materialize_days(settings, D1, D2)

    cohorts = ledger(settings, GOLD_COHORT_RETENTION.name)
    assert cohorts.select("day", "key", "column", "old_value", "new_value").rows() == [
        (D1, '{"week_offset":0}', "active_users", 1.0, 2.0),
        (D1, '{"week_offset":0}', "cohort_size", 1.0, 2.0),
    ]  # retention_rate stays 1.0: not restated
    rfm = ledger(settings, GOLD_CUSTOMER_RFM.name)
    # u1's scores do not move (recency and frequency tie, monetary is still the lowest rank);
    # u2 appears as of D2, the last day with data.
    assert rfm.select("day", "key", "column", "old_value", "new_value").rows() == [
        (D2, '{"user_id":"u2"}', "f_score", None, 1.0),
        (D2, '{"user_id":"u2"}', "frequency", None, 1.0),
        (D2, '{"user_id":"u2"}', "m_score", None, 3.0),
        (D2, '{"user_id":"u2"}', "monetary", None, 25.0),
        (D2, '{"user_id":"u2"}', "r_score", None, 1.0),
        (D2, '{"user_id":"u2"}', "recency_days", None, 1.0),
        (D2, '{"user_id":"u2"}', "unvalued_orders", None, 0.0),
    ]
    assert set(rfm["cause"]) == {"late_events"}
