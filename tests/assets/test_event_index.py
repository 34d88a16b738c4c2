"""silver/event_index: the bucket rule, and the days of every copy of an id, through Dagster."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import dagster as dg
import polars as pl
from bronze_log_rows import append_bronze, event, login, noon, order

from eventlake import lake
from eventlake.catalog import SILVER_EVENT_INDEX
from eventlake.log_rules import event_id_bucket
from eventlake.settings import Settings
from orchestration.materialize import materialize_days

D1, D2 = date(2026, 3, 1), date(2026, 3, 2)


def bucket(event_id: str) -> int:
    return pl.select(event_id_bucket(pl.lit(event_id))).item()


def test_the_bucket_is_the_last_two_utf8_bytes_modulo_31() -> None:
    assert bucket("ab") == 0x6162 % 31 == 6
    assert bucket("zzab") == bucket("ab")  # only the last two bytes count
    assert bucket("x") == 0x78 % 31 == 27
    assert bucket("café") == 0xC3A9 % 31 == 24  # é is two bytes in UTF-8
    assert bucket("ab") != bucket("ba")


def test_every_copy_day_of_every_id_is_indexed_with_its_day_rows(
    settings: Settings, instance: dg.DagsterInstance
) -> None:
    settings = replace(settings, start_date=D1)
    append_bronze(
        settings,
        [
            login("a", "u1", noon(D1)),
            login("a", "u1", noon(D1)),  # re-delivered: a second copy, same day
            event("w", "wished", noon(D1), {"user_id": "u1"}),  # unregistered: kept in the log
            login("a", "u1", noon(D2)),  # a copy with another timestamp, on another day
            order("b", "u2", "o1", 9.5, "EUR", noon(D2)),
        ],
    )
    materialize_days(settings, D1, D2, tables=[SILVER_EVENT_INDEX], instance=instance)

    index = lake.scan(settings, SILVER_EVENT_INDEX).collect().sort("event_date", "event_id")
    assert index.rows() == [
        (bucket("a"), "a", D1, 3),
        (bucket("w"), "w", D1, 3),
        (bucket("a"), "a", D2, 2),
        (bucket("b"), "b", D2, 2),
    ]
    files = pl.DataFrame(
        lake.open_table(settings, SILVER_EVENT_INDEX).get_add_actions(flatten=True)
    )
    assert set(files["partition.id_bucket"].cast(pl.Int32)) == {bucket(i) for i in "awb"}

    append_bronze(settings, [login("c", "u3", noon(D1))])  # a late event: its day is run again
    materialize_days(settings, D1, D1, tables=[SILVER_EVENT_INDEX], instance=instance)
    index = lake.scan(settings, SILVER_EVENT_INDEX).collect().sort("event_date", "event_id")
    assert index.filter(pl.col("event_date") == D1).rows() == [
        (bucket("a"), "a", D1, 4),
        (bucket("c"), "c", D1, 4),
        (bucket("w"), "w", D1, 4),
    ]
    assert index.filter(pl.col("event_date") == D2).height == 2  # the other day untouched
