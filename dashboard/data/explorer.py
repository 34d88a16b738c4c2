"""The Event explorer's reads: one event by id, or the whole history of one user or aggregate.

This is the audit trail event sourcing promises: every copy the log received, where it came
from (topic, partition, offset), when it was ingested, and what became of it in silver (kept,
a duplicate of an earlier copy, an unregistered type). No Streamlit.

bronze/events is partitioned by day only, so the reads keep to few days: an event id is
looked for in the chosen days, a user's history in the chosen days silver/user_activity_daily
says they were active on, plus the days silver has not caught up with yet; the caller widens
either to every day of the log on request.
"""

from __future__ import annotations

from datetime import date, datetime

import polars as pl

from dashboard.data import reads
from dashboard.data.scope import Scope
from eventlake import lake
from eventlake.catalog import (
    BRONZE_DEAD_LETTERS,
    BRONZE_EVENTS,
    GOLD_COHORT_RETENTION,
    GOLD_CUSTOMER_RFM,
    GOLD_DAILY_ACTIVE_USERS,
    GOLD_FUNNEL_DAILY,
    GOLD_LIFECYCLE_DAILY,
    GOLD_PRODUCT_PERFORMANCE,
    GOLD_REVENUE_BY_PRODUCT,
    GOLD_REVENUE_DAILY,
    GOLD_SESSIONS_DAILY,
    SILVER_EVENT_INDEX,
    SILVER_EVENTS,
    SILVER_ORDER_ITEMS,
    SILVER_ORDERS,
    SILVER_PRODUCT_EVENTS,
    SILVER_SESSIONS,
    SILVER_USER_ACTIVITY_DAILY,
    SILVER_USER_SIGNUPS,
    SILVER_USERS,
    TableSpec,
)
from eventlake.lake import DeltaTable
from eventlake.log_rules import WINNER_ORDER, event_id_bucket
from eventlake.settings import Settings

SHOWN = (
    "event_time", "event_type", "schema_version", "event_id", "aggregate_id", "status",
    "payload", "metadata", "kafka_topic", "kafka_partition", "kafka_offset", "ingested_at",
)  # fmt: skip
HISTORY_LIMIT = 5000


def _with_status(rows: pl.DataFrame, in_silver: pl.DataFrame) -> pl.DataFrame:
    """Adds `status`: "counted", "duplicate (later copy)", "unregistered type", or
    "not in silver yet" (registered, first copy, but silver has no row for it)."""
    ordered = rows.sort([*WINNER_ORDER], nulls_last=True)
    first_copy = pl.col("event_id").is_first_distinct()
    known = pl.col("event_id").is_in(in_silver["event_id"].implode())
    status = (
        pl.when(~pl.col("registered")).then(pl.lit("unregistered type"))
        .when(~first_copy).then(pl.lit("duplicate (later copy)"))
        .when(known).then(pl.lit("counted"))
        .otherwise(pl.lit("not in silver yet"))
    )  # fmt: skip
    return ordered.with_columns(status=status).sort("event_time", "ingested_at").select(SHOWN)


def _silver_ids(
    settings: Settings,
    ids: pl.Series,
    days: list[date],
    as_of: datetime | None,
    columns: tuple[str, ...] = ("event_id",),
) -> pl.DataFrame:
    """The silver/events rows (`columns`) of `ids` on `days`: which events silver kept."""
    frame = lake.scan(settings, SILVER_EVENTS, version=as_of).filter(
        pl.col("event_date").is_in(pl.Series(days, dtype=pl.Date).implode()),
        pl.col("event_id").is_in(ids.implode()),
    )
    return reads.collect(SILVER_EVENTS, frame.select(columns))


def bronze_day_rows(bronze: DeltaTable) -> dict[date, int | None]:
    """Returns the rows of each day of bronze/events, from its Delta log's statistics (no data
    file read); None for a day with a file written without them."""
    files = lake.data_files(bronze, BRONZE_EVENTS)
    if files.is_empty():
        return {}
    per_day = files.group_by(day=pl.col("partition.event_date").cast(pl.Date)).agg(
        rows=pl.when(pl.col("num_records").null_count() == 0).then(pl.col("num_records").sum())
    )
    return dict(per_day.iter_rows())


def event_days(
    settings: Settings, event_id: str, first: date, last: date, as_of: datetime | None
) -> list[date] | None:
    """Returns the days in [first, last] that may hold `event_id`: those silver/event_index has
    it on, plus the days of bronze the index has not caught up with (their bronze row count is
    not the one indexed, or the id's bucket has no row of them); None when there is no index
    (or no log) to ask."""
    bronze = lake.open_table(settings, BRONZE_EVENTS, version=as_of)
    index = lake.open_table(settings, SILVER_EVENT_INDEX, version=as_of)
    if bronze is None or index is None:
        return None
    bucket = pl.select(event_id_bucket(pl.lit(event_id))).item()
    indexed = reads.collect(
        SILVER_EVENT_INDEX,
        pl.scan_delta(index)
        .filter(pl.col("id_bucket") == bucket, pl.col("event_date").is_between(first, last))
        .group_by("event_date")
        .agg(pl.col("day_rows").first(), found=(pl.col("event_id") == event_id).any()),
    )
    read = {day: rows for day, rows, _ in indexed.iter_rows()}
    found = {day for day, _, hit in indexed.iter_rows() if hit}
    later = {
        day
        for day, rows in bronze_day_rows(bronze).items()
        if first <= day <= last and (rows is None or read.get(day) != rows)
    }
    return sorted(found | later)


def event_by_id(settings: Settings, scope: Scope) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Returns (every bronze copy of the scope's `event_id` dated in its days with its status,
    the silver row of the event: its payload upcast to the latest version)."""
    event_id, first, last, as_of = scope.event_id, scope.first, scope.last, scope.as_of
    days = event_days(settings, event_id, first, last, as_of)
    if days is None:  # no index: the days holding the id, reading two columns of each
        found = reads.collect(
            BRONZE_EVENTS,
            reads.scan_days(settings, BRONZE_EVENTS, first, last, as_of)
            .select("event_id", "event_date")
            .filter(pl.col("event_id") == event_id),
        )
        days = sorted(set(found["event_date"].to_list()))
    rows = reads.collect(
        BRONZE_EVENTS,
        lake.scan(settings, BRONZE_EVENTS, version=as_of).filter(
            pl.col("event_date").is_in(pl.Series(days, dtype=pl.Date).implode()),
            pl.col("event_id") == event_id,
        ),
    )
    silver = _silver_ids(
        settings, rows["event_id"].unique(), days, as_of, ("event_id", "payload", "schema_version")
    )
    return _with_status(rows, silver), silver


def active_days(settings: Settings, user_id: str, as_of: datetime | None = None) -> list[date]:
    """Returns the days silver/user_activity_daily has the user on, oldest first."""
    frame = lake.scan(settings, SILVER_USER_ACTIVITY_DAILY, version=as_of).filter(
        pl.col("user_id") == user_id
    )
    return sorted(reads.collect(SILVER_USER_ACTIVITY_DAILY, frame.select("day"))["day"].to_list())


def silver_last_day(settings: Settings, as_of: datetime | None = None) -> date | None:
    """Returns the newest day silver/user_activity_daily has rows for (None when empty)."""
    frame = lake.scan(settings, SILVER_USER_ACTIVITY_DAILY, version=as_of).select(
        pl.col("day").max()
    )
    return reads.collect(SILVER_USER_ACTIVITY_DAILY, frame).item()


def aggregate_history(settings: Settings, scope: Scope) -> pl.DataFrame:
    """Returns the bronze events of the scope's `aggregate_id` (up to 5,000, newest kept),
    oldest first, with their status.

    Of the scope's days, those silver/user_activity_daily has the id on as a user are read,
    plus those silver has not caught up with; a scope of every day reads every day of the log
    (a full scan of bronze/events, slow on a large log, but it also finds the events of an
    aggregate that is not a user).
    """
    aggregate_id, as_of = scope.aggregate_id, scope.as_of
    days = None if scope.every_day else (scope.first, scope.last)
    frame = lake.scan(settings, BRONZE_EVENTS, version=as_of).filter(
        pl.col("aggregate_id") == aggregate_id
    )
    newest = None if days is None else silver_last_day(settings, as_of)
    if days is not None:
        later = [d for d in log_days(settings, as_of) if newest is None or d > newest]
        wanted = [
            d for d in (*active_days(settings, aggregate_id, as_of), *later)
            if days[0] <= d <= days[1]
        ]  # fmt: skip
        # A plain list of days, not "these or after that": only a list prunes partitions.
        frame = frame.filter(pl.col("event_date").is_in(pl.Series(wanted, dtype=pl.Date).implode()))
    rows = reads.collect(
        BRONZE_EVENTS, frame.sort("event_time", descending=True).head(HISTORY_LIMIT)
    )
    days_seen = sorted(set(rows["event_date"].to_list()))
    silver = _silver_ids(settings, rows["event_id"].unique(), days_seen, as_of)
    return _with_status(rows, silver)


def log_days(settings: Settings, as_of: datetime | None = None) -> list[date]:
    """Returns the days bronze/events has files for, from its Delta log (no data file read)."""
    table = lake.open_table(settings, BRONZE_EVENTS, version=as_of)
    if table is None:
        return []
    actions = lake.data_files(table, BRONZE_EVENTS)
    column = "partition.event_date"
    if actions.is_empty() or column not in actions.columns:
        return []
    return sorted(actions[column].cast(pl.Date).unique().to_list())


def user_profile(settings: Settings, scope: Scope) -> pl.DataFrame:
    """Returns the silver/users row of the user whose id is the scope's `aggregate_id` (first
    and last active day, signup attributes)."""
    frame = lake.scan(settings, SILVER_USERS, version=scope.as_of).filter(
        pl.col("user_id") == scope.aggregate_id
    )
    return reads.collect(SILVER_USERS, frame)


def dead_letters_of(settings: Settings, scope: Scope) -> pl.DataFrame:
    """Returns one row per dead letter whose Kafka key is the scope's `aggregate_id`
    (producers key by it)."""
    frame = lake.scan(settings, BRONZE_DEAD_LETTERS, version=scope.as_of).filter(
        pl.col("key") == pl.lit(scope.aggregate_id.encode(), pl.Binary)
    )
    rows = reads.collect(BRONZE_DEAD_LETTERS, frame.sort("ingested_at"))
    raw = [None if b is None else b[:200].decode("utf-8", "replace") for b in rows["raw"]]
    return rows.select(
        "ingested_at", "kafka_topic", "kafka_partition", "kafka_offset", "error_code",
        "error_detail", raw=pl.Series(raw, dtype=pl.String),
    )  # fmt: skip


def recent_user(settings: Settings, scope: Scope) -> str | None:
    """Returns the user with the newest event in silver/user_activity_daily as of the scope's
    moment (None: empty)."""
    as_of = scope.as_of
    newest = silver_last_day(settings, as_of)
    if newest is None:
        return None
    frame = (
        reads.scan_days(settings, SILVER_USER_ACTIVITY_DAILY, newest, newest, as_of)
        .sort("last_event_time", "user_id", descending=[True, False])
        .select("user_id")
        .head(1)
    )
    found = reads.collect(SILVER_USER_ACTIVITY_DAILY, frame)
    return found["user_id"][0] if found.height else None


# Which silver and gold tables an event of each type feeds (besides silver/events): the lineage
# of one event, shown beside it. Every event with a user id also feeds ACTIVITY_TABLES.
FEEDS: dict[str, tuple[TableSpec, ...]] = {
    "order_placed": (
        SILVER_ORDERS, SILVER_ORDER_ITEMS, GOLD_REVENUE_DAILY, GOLD_REVENUE_BY_PRODUCT,
        GOLD_FUNNEL_DAILY, GOLD_PRODUCT_PERFORMANCE, GOLD_CUSTOMER_RFM,
    ),
    "product_view": (SILVER_PRODUCT_EVENTS, GOLD_FUNNEL_DAILY, GOLD_PRODUCT_PERFORMANCE),
    "add_to_cart": (SILVER_PRODUCT_EVENTS, GOLD_FUNNEL_DAILY, GOLD_PRODUCT_PERFORMANCE),
    "user_signup": (SILVER_USER_SIGNUPS, SILVER_USERS, GOLD_COHORT_RETENTION),
}  # fmt: skip
ACTIVITY_TABLES: tuple[TableSpec, ...] = (
    SILVER_USER_ACTIVITY_DAILY, SILVER_SESSIONS, GOLD_DAILY_ACTIVE_USERS, GOLD_SESSIONS_DAILY,
    GOLD_LIFECYCLE_DAILY, GOLD_COHORT_RETENTION,
)  # fmt: skip


def feeds(event_type: str, has_user: bool) -> list[str]:
    """Returns the names of the tables an event of `event_type` feeds, silver/events first."""
    found = [SILVER_EVENTS, *FEEDS.get(event_type, ())]
    if has_user:
        found += [t for t in ACTIVITY_TABLES if t not in found]
    return [t.name for t in found]
