"""Looking an event up by id in every day: through silver/event_index, equal to reading every
day of the log, on the simulated lake and on a log that moved on after its index run."""

from __future__ import annotations

import shutil
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl
from polars.testing import assert_frame_equal

from dashboard.data import explorer
from dashboard.data.scope import Scope
from eventlake import lake
from eventlake.catalog import BRONZE_EVENTS, SILVER_EVENT_INDEX
from eventlake.log_rules import event_id_bucket
from eventlake.settings import Settings
from orchestration.materialize import materialize_days

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "assets"))  # bronze row builders
from bronze_log_rows import append_bronze, event, login, noon

D1, D2, D3 = date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)


def explorer_bucket(event_id: str) -> int:
    return pl.select(event_id_bucket(pl.lit(event_id))).item()


def every_day(event_id: str) -> Scope:
    return Scope(date(2000, 1, 1), date(2100, 1, 1), event_id=event_id)


def without_index(settings: Settings, tmp_path: Path) -> Settings:
    """A copy of the lake without silver/event_index: the explorer reads every day there."""
    root = tmp_path / "reference"
    shutil.copytree(settings.lake_root, root)
    shutil.rmtree(root / SILVER_EVENT_INDEX.name)
    return replace(settings, lake_root=str(root))


def test_ids_found_through_the_index_equal_a_read_of_every_day(simulated, tmp_path) -> None:
    settings = simulated.settings
    reference = without_index(settings, tmp_path)
    bronze = lake.scan(settings, BRONZE_EVENTS).collect()
    copies = bronze.group_by("event_id").agg(n=pl.len())
    duplicated = copies.filter(pl.col("n") > 1)["event_id"].head(5).to_list()
    wanted = [*duplicated, *bronze["event_id"].sample(15, seed=3).to_list(), "nope"]
    assert duplicated  # re-delivered copies
    days_of_log = bronze["event_date"].n_unique()
    for event_id in wanted:
        copies, silver = explorer.event_by_id(settings, every_day(event_id))
        want_copies, want_silver = explorer.event_by_id(reference, every_day(event_id))
        assert_frame_equal(copies, want_copies)
        assert_frame_equal(silver, want_silver)
        assert copies.height == bronze.filter(pl.col("event_id") == event_id).height
        days = explorer.event_days(settings, event_id, date(2000, 1, 1), date(2100, 1, 1), None)
        assert days is not None and len(days) < days_of_log  # not every day read


def filler(day: date) -> list[dict]:
    """100 logins of `day` whose ids fill every bucket: a day is known to the index through
    the rows its bucket holds, as on any real day (thousands of events)."""
    return [login(f"f{day:%d}{n:02d}", "u0", noon(day)) for n in range(100)]


def test_copies_the_index_has_not_read_yet_are_found_in_their_day(settings) -> None:
    settings = replace(settings, start_date=D1)
    assert {explorer_bucket(row["event_id"]) for row in filler(D1)} == set(range(31))
    append_bronze(settings, [*filler(D1), *filler(D2), *filler(D3)])
    append_bronze(settings, [login("a", "u1", noon(D1)), login("b", "u2", noon(D2))])
    append_bronze(settings, [login("c", "u3", noon(D3))])
    with dg.DagsterInstance.ephemeral() as instance:
        materialize_days(settings, D1, D3, tables=[SILVER_EVENT_INDEX], instance=instance)
    assert explorer.event_days(settings, "b", D1, D3, None) == [D2]
    assert explorer.event_days(settings, "zz", D1, D3, None) == []

    # A re-delivered copy of "b" lands on D1 and a new event on D2, after the index run.
    append_bronze(
        settings, [login("b", "u2", noon(D1)), event("d", "wished", noon(D2), {"user_id": "u4"})]
    )
    assert explorer.event_days(settings, "b", D1, D3, None) == [D1, D2]
    copies, _ = explorer.event_by_id(settings, every_day("b"))
    assert copies["event_time"].dt.date().to_list() == [D1, D2]
    copies, _ = explorer.event_by_id(settings, every_day("d"))
    assert copies["status"].to_list() == ["unregistered type"]
    assert explorer.event_days(settings, "c", D1, D3, None) == [D1, D2, D3]  # D3 still indexed

    with dg.DagsterInstance.ephemeral() as instance:
        materialize_days(settings, D1, D2, tables=[SILVER_EVENT_INDEX], instance=instance)
    assert explorer.event_days(settings, "b", D1, D3, None) == [D1, D2]
    assert explorer.event_days(settings, "c", D1, D3, None) == [D3]  # caught up: one day
