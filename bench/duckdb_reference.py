"""The equal-work reference of the projection benchmark: DuckDB from bronze to gold, written as Delta.

What a data team would build instead with dbt-duckdb: one SQL model per table
(bench/duckdb_silver.py, then bench/duckdb_gold.py) over the parquet files of bronze/events,
each materialized as a DuckDB table, then every table written as a Delta table (the same
partitioning as the lake) with delta-rs. `full` times each model and each write; `compare`
checks every table against the lake's, every row and every column, in both directions.
"""

from __future__ import annotations

import json
import math
import time
from datetime import date, timedelta
from typing import Any

import duckdb
import polars as pl
from polars.testing import assert_frame_equal

from bench.duckdb_gold import QUERIES, VIEWS
from bench.duckdb_silver import SILVER
from eventlake import lake
from eventlake.catalog import BRONZE_EVENTS, BY_NAME, TableSpec
from eventlake.currencies import EUR_PER_UNIT
from eventlake.default_products import products_frame
from eventlake.settings import Settings

# The rows of each table are told apart by these columns (sorted by them before comparing).
KEYS: dict[str, list[str]] = {
    "silver/events": ["event_id"],
    "silver/orders": ["event_id"],
    "silver/order_items": ["event_id", "item"],
    "silver/product_events": ["event_id"],
    "silver/user_signups": ["event_id"],
    "silver/user_activity_daily": ["day", "user_id"],
    "silver/sessions": ["user_id", "started_at", "session_id"],
    "silver/users": ["user_id"],
    "gold/daily_active_users": ["day"],
    "gold/revenue_daily": ["day", "currency"],
    "gold/revenue_by_product": ["day", "product_id", "currency"],
    "gold/sessions_daily": ["day"],
    "gold/funnel_daily": ["day"],
    "gold/product_performance": ["day", "product_id"],
    "gold/lifecycle_daily": ["day"],
    "gold/traffic_hourly": ["hour"],
    "gold/revenue_hourly": ["hour", "currency"],
    "gold/cohort_retention": ["cohort_week", "week_offset"],
    "gold/customer_rfm": ["user_id"],
}
TABLES = [*SILVER, *QUERIES]
Days = tuple[date, date] | None  # an inclusive range of days


def connect(first: date, last: date) -> duckdb.DuckDBPyConnection:
    """Returns a connection with `span(first, last)`, the rate table and the product catalog."""
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")  # dates of timestamps are UTC days, as in the lake
    con.execute("create table span as select $1::date as first, $2::date as last", [first, last])
    rates = pl.DataFrame({"currency": list(EUR_PER_UNIT), "eur": list(EUR_PER_UNIT.values())})
    con.register("rates", rates.to_arrow())
    con.register("products", products_frame().to_arrow())
    return con


def files(
    settings: Settings, spec: TableSpec, days: Days = None, *, skip: date | None = None
) -> str:
    """Returns a `read_parquet` of the table's current files (of `days` only, or all but day
    `skip`; none of a table that does not exist), its partition column typed as a date."""
    table = lake.open_table(settings, spec)
    column = spec.day_column
    if table is None:
        found = []
    elif column and days:
        found = table.file_uris([(column, ">=", str(days[0])), (column, "<=", str(days[1]))])
    elif column and skip:
        found = table.file_uris([(column, "!=", str(skip))])
    else:
        found = table.file_uris()
    if not found:
        return f"(select * from {_empty(spec)})"
    names = ", ".join(f"'{uri}'" for uri in found)
    hive = f", hive_types = {{'{column}': 'date'}}" if spec.partition_by else ""
    return f"read_parquet([{names}], hive_partitioning = true{hive})"


def _empty(spec: TableSpec) -> str:
    """Returns a select of no rows with the table's columns, in DuckDB types."""
    types = {pl.String: "varchar", pl.Date: "date", pl.Boolean: "boolean", pl.Float64: "double"}
    columns = ", ".join(
        f"null::{types.get(type(t), 'bigint') if not isinstance(t, pl.Datetime) else 'timestamptz'}"
        f' as "{name}"'
        for name, t in spec.schema.items()
    )
    return f"(select {columns} limit 0)"


def write(
    con: duckdb.DuckDBPyConnection,
    out: Settings,
    name: str,
    days: Days = None,
    *,
    relation: str | None = None,
) -> None:
    """Writes DuckDB table `relation` (default: `name`) as table `name` of the lake of `out`:
    all of it, or the days `days`."""
    spec = BY_NAME[name]
    frame = con.table(f'"{relation or name}"').fetch_arrow_table()
    lake.overwrite_as_is(out, spec, frame, days)


def full(settings: Settings, out: Settings, first: date, last: date) -> dict[str, Any]:
    """Builds every silver and gold table from bronze into the lake of `out`; returns the wall
    seconds of the whole, of each model ("sql") and of each Delta write ("write")."""
    started = time.perf_counter()
    con = connect(first, last)
    con.execute(f"create view bronze as select * from {files(settings, BRONZE_EVENTS)}")
    sql, written = {}, {}
    for name, query in (*SILVER.items(), *QUERIES.items()):
        began = time.perf_counter()
        con.execute(f'create table "{name}" as {query}')
        sql[name] = round(time.perf_counter() - began, 2)
        if name == "silver/users":  # the silver layer is built: name it as the gold SQL reads it
            for view, table in VIEWS.items():
                con.execute(f'create view {view} as select * from "{table}"')
    for name in TABLES:
        began = time.perf_counter()
        write(con, out, name)
        written[name] = round(time.perf_counter() - began, 2)
    return {"seconds": time.perf_counter() - started, "sql": sql, "write": written}


def shifted(day: date, offsets: tuple[int, int] | None, first: date, last: date) -> Days:
    """Returns the days `day + offsets`, clipped to [first, last] (None for None: every day)."""
    if offsets is None:
        return None
    a, b = (day + timedelta(days=n) for n in offsets)
    return max(a, first), min(b, last)


# What the day update rebuilds after the late day D's silver, in order: per table, the days it
# rewrites and the days of each table (or gold view name) it reads, as offsets from D (None:
# every day), as the lake's partition mappings (docs/architecture.md).
Offsets = tuple[int, int] | None
DAY_UPDATE: dict[str, tuple[Offsets, dict[str, Offsets]]] = {
    "silver/orders": ((0, 0), {}),
    "silver/order_items": ((0, 0), {}),
    "silver/product_events": ((0, 0), {}),
    "silver/user_signups": ((0, 0), {}),
    "silver/user_activity_daily": ((0, 0), {}),
    "silver/sessions": ((-1, 1), {"silver/events": (-2, 2)}),
    "silver/users": (None, {"silver/user_activity_daily": None, "silver/user_signups": None}),
    "gold/daily_active_users": ((0, 29), {"activity": (-29, 29)}),
    "gold/revenue_daily": ((0, 0), {"orders": None}),
    "gold/revenue_by_product": ((0, 0), {"orders": None, "items": (0, 0)}),
    "gold/sessions_daily": ((-1, 1), {"sessions": (-1, 1)}),
    "gold/funnel_daily": ((-1, 0), {"product_events": (-1, 1), "orders": None}),
    "gold/product_performance": (
        (0, 0),
        {"product_events": (0, 0), "items": (0, 0), "orders": None},
    ),
    "gold/lifecycle_daily": ((0, 1), {"activity": None}),
    "gold/traffic_hourly": ((0, 0), {"events": (0, 0)}),
    "gold/revenue_hourly": ((0, 0), {"orders": None}),
    "gold/cohort_retention": (None, {"signups": None, "activity": None}),
    "gold/customer_rfm": (None, {"orders": None, "activity": None}),
}


def day_update(
    settings: Settings, out: Settings, day: date, first: date, last: date
) -> dict[str, Any]:
    """Brings the reference lake of `out` up to date after bronze gained rows of `day`, as an
    incremental dbt-duckdb project would: silver/events of that day (the first copy decided
    over the whole log), then every table whose days read it, each written for those days only.
    Returns the wall seconds of the whole and of each table (its SQL and its write)."""
    started = time.perf_counter()
    con = connect(first, last)
    laps: dict[str, float] = {}
    # The day's bronze rows, and the ingest positions of their ids' copies on other days.
    con.execute(f"create view d as select * from {files(settings, BRONZE_EVENTS, (day, day))}")
    con.execute(
        "create view bronze as select * from d union all by name "
        "select event_id, event_date, ingested_at, kafka_topic, kafka_partition, kafka_offset "
        f"from {files(settings, BRONZE_EVENTS, skip=day)} where event_id in (select event_id from d)"
    )
    _build(con, out, "silver/events", SILVER["silver/events"], (day, day), laps)
    con.execute('create view "silver/events" as select * from "new silver/events"')
    for name, (rewrites, reads) in DAY_UPDATE.items():
        days = shifted(day, rewrites, first, last)
        for view, offsets in reads.items():
            table = VIEWS.get(view, view)
            source = files(out, BY_NAME[table], shifted(day, offsets, first, last))
            con.execute(f'create or replace view "{view}" as select * from {source}')
        con.execute("update span set first = $1, last = $2", list(days or (first, last)))
        _build(con, out, name, SILVER.get(name) or QUERIES[name], days, laps)
    return {"seconds": time.perf_counter() - started, "tables": laps}


def _build(
    con: duckdb.DuckDBPyConnection,
    out: Settings,
    name: str,
    query: str,
    days: Days,
    laps: dict[str, float],
) -> None:
    """Computes table `name` with `query` (as DuckDB table "new NAME") and writes it into the
    lake of `out` for `days` (None: whole)."""
    began = time.perf_counter()
    column = BY_NAME[name].day_column
    if days and column:
        query = f"select * from ({query}) where {column} between '{days[0]}' and '{days[1]}'"
    con.execute(f'create or replace table "new {name}" as {query}')
    write(con, out, name, days, relation=f"new {name}")
    laps[name] = round(time.perf_counter() - began, 2)


def compare(ours: Settings, theirs: Settings) -> dict[str, str]:
    """Returns, per table, "equal" or the first difference between the lake and the reference:
    every row and every column, both ways (floats to a relative 1e-9)."""
    return {name: _compare_table(ours, theirs, name) for name in TABLES}


def _compare_table(ours: Settings, theirs: Settings, name: str) -> str:
    spec, keys = BY_NAME[name], KEYS[name]
    mine = lake.scan(ours, spec).collect().sort(keys, nulls_last=True)
    other = pl.read_delta(lake.table_uri(theirs, spec))
    if set(other.columns) != set(mine.columns):
        return f"columns differ: {sorted(set(other.columns) ^ set(mine.columns))}"
    other = other.select(mine.columns).cast(mine.schema).sort(keys, nulls_last=True)
    if other.height != mine.height:
        return f"{mine.height} rows here, {other.height} in the reference"
    if name == "silver/events":  # upcast payloads are JSON built by two writers: compare values
        bad = _payloads_differ(mine.get_column("payload"), other.get_column("payload"))
        if bad:
            return f"{bad} payloads differ as JSON values"
        mine, other = mine.drop("payload"), other.drop("payload")
    try:
        assert_frame_equal(mine, other, check_exact=False, rel_tol=1e-9)
    except AssertionError as err:
        return " ".join(str(err).split())[:300]
    return "equal"


def _payloads_differ(mine: pl.Series, other: pl.Series) -> int:
    """Returns how many of the payloads (paired by position) are different JSON values."""
    texts = pl.DataFrame({"a": mine, "b": other}).filter(pl.col("a") != pl.col("b"))
    return sum(not _same(json.loads(a), json.loads(b)) for a, b in texts.iter_rows())


def _same(a: object, b: object) -> bool:
    """Whether two decoded JSON values are equal, numbers to a relative 1e-9."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=1e-9)
    return a == b
