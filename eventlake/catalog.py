"""The table catalog: one `TableSpec` per Delta table (in words: docs/metrics.md).

Paths, Dagster asset keys, dashboard reads and docs all come from here; no table path literal
lives anywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import polars as pl

Layer = Literal["bronze", "silver", "gold", "dim", "audit", "privacy"]
_UTC_US = pl.Datetime("us", "UTC")


@dataclass(frozen=True)
class TableSpec:
    """A Delta table: its name (= path under the lake root), layer, schema and partitioning."""

    name: str
    layer: Layer
    schema: pl.Schema
    partition_by: tuple[str, ...]
    description: str
    day_column: str | None = None  # the column that holds the Dagster day partition
    grain: tuple[str, ...] = ()  # the columns that identify one row (read models)

    @property
    def asset_key(self) -> list[str]:
        """The Dagster asset key path, e.g. ["gold", "revenue_daily"]."""
        return self.name.split("/")

    def empty(self) -> pl.DataFrame:
        """Returns an empty frame with this table's schema."""
        return pl.DataFrame(schema=self.schema)


def _table(
    layer: Layer,
    name: str,
    columns: dict[str, pl.DataType],
    description: str,
    day: str | None,
    *,
    partition_by: tuple[str, ...] | None = None,
    grain: tuple[str, ...] = (),
) -> TableSpec:
    """Returns the spec of table `layer/name`, partitioned by its day column unless told."""
    if partition_by is None:
        partition_by = (day,) if day else ()
    schema = pl.Schema(columns)
    return TableSpec(f"{layer}/{name}", layer, schema, partition_by, description, day, grain)


def _gold(
    name: str,
    columns: dict[str, pl.DataType],
    description: str,
    day: str | None,
    grain: tuple[str, ...],
) -> TableSpec:
    return _table("gold", name, columns, description, day, grain=grain)


BRONZE_EVENTS = _table(
    "bronze",
    "events",
    {
        "event_id": pl.String(),
        "event_type": pl.String(),
        "schema_version": pl.Int32(),
        "aggregate_id": pl.String(),
        "event_time": _UTC_US,
        "event_date": pl.Date(),
        "payload": pl.String(),
        "metadata": pl.String(),
        "extra": pl.String(),
        "registered": pl.Boolean(),
        "kafka_topic": pl.String(),
        "kafka_partition": pl.Int32(),
        "kafka_offset": pl.Int64(),
        "kafka_timestamp": _UTC_US,
        "ingested_at": _UTC_US,
    },
    "One row per accepted Kafka message, exactly once: the append-only event log. `payload`, "
    "`metadata` and `extra` (unknown top-level keys) are JSON text as received.",
    "event_date",
)

BRONZE_DEAD_LETTERS = _table(
    "bronze",
    "dead_letters",
    {
        "kafka_topic": pl.String(),
        "kafka_partition": pl.Int32(),
        "kafka_offset": pl.Int64(),
        "kafka_timestamp": _UTC_US,
        "key": pl.Binary(),
        "raw": pl.Binary(),
        "error_code": pl.String(),
        "error_detail": pl.String(),
        "ingested_at": _UTC_US,
    },
    "One row per rejected Kafka message, exactly once, with its raw bytes and a rejection code.",
    None,
)

BRONZE_INGEST_BATCHES = _table(
    "bronze",
    "ingest_batches",
    {
        "batch_id": pl.String(),
        "consumer_id": pl.String(),
        "started_at": _UTC_US,
        "committed_at": _UTC_US,
        "events": pl.Int64(),
        "dead_letters": pl.Int64(),
        "bytes": pl.Int64(),
        "offset_ranges": pl.String(),
        "events_version": pl.Int64(),
        "lag": pl.Int64(),
        "decode_ms": pl.Float64(),
        "write_ms": pl.Float64(),
    },
    "One row per committed micro-batch: timings, counts, offset ranges (JSON), Delta version, "
    "lag at commit.",
    None,
)

# Written by retention (operations/log_retention.py) just before it deletes old bronze days.
BRONZE_RETIRED_DAYS = _table(
    "bronze",
    "retired_days",
    {
        "source_table": pl.String(),
        "day": pl.Date(),
        "event_type": pl.String(),
        "error_code": pl.String(),
        "rows": pl.Int64(),
        "aggregates": pl.Int64(),
        "first_ingested_at": _UTC_US,
        "last_ingested_at": _UTC_US,
        "retired_at": _UTC_US,
        "retirement": pl.Int64(),
        "source_version": pl.Int64(),
    },
    "One row per retired bronze day, source table, group and retirement pass: the rows "
    "deleted from bronze/events (day = event_date, per event_type, `aggregates` = distinct "
    "aggregate ids) or bronze/dead_letters (day = UTC day of ingested_at, per error_code), "
    "their first and last ingested_at, when, and which pass (`retirement`, the Delta txn "
    "version its delete recorded) read them at which `source_version`. Late rows retired by a "
    "later pass add rows: sum over passes.",
    "day",
    partition_by=(),
)

SILVER_EVENTS = _table(
    "silver",
    "events",
    {
        "event_id": pl.String(),
        "event_type": pl.String(),
        "schema_version": pl.Int32(),
        "aggregate_id": pl.String(),
        "user_id": pl.String(),
        "session_id": pl.String(),
        "event_time": _UTC_US,
        "event_date": pl.Date(),
        "payload": pl.String(),
        "metadata": pl.String(),
        "ingested_at": _UTC_US,
    },
    "One row per distinct event_id of a registered type (earliest-ingested copy), payload upcast "
    "to the latest version; `user_id` and `session_id` lifted out of payload and metadata.",
    "event_date",
    grain=("event_id",),
)


# Typed silver tables: payload JSON decoded once, per event type, into columns.
SILVER_ORDERS = _table(
    "silver",
    "orders",
    {
        "event_id": pl.String(),
        "event_time": _UTC_US,
        "event_date": pl.Date(),
        "user_id": pl.String(),
        "order_id": pl.String(),
        "total_amount": pl.Float64(),
        "currency": pl.String(),
        "items": pl.Int32(),
        "units": pl.Int64(),
    },
    "One row per order_placed event in silver/events (not yet deduplicated by order_id): "
    "its order, total, currency, number of items and units.",
    "event_date",
    grain=("event_id",),
)
SILVER_ORDER_ITEMS = _table(
    "silver",
    "order_items",
    {
        "event_id": pl.String(),
        "event_date": pl.Date(),
        "order_id": pl.String(),
        "item": pl.Int32(),
        "product_id": pl.String(),
        "quantity": pl.Int64(),
        "unit_price": pl.Float64(),
        "currency": pl.String(),
    },
    "One row per item of each order_placed event in silver/events, unit price after upcasting "
    "(v1: total_amount / sum(quantity)).",
    "event_date",
    grain=("event_id", "item"),
)
SILVER_PRODUCT_EVENTS = _table(
    "silver",
    "product_events",
    {
        "event_id": pl.String(),
        "event_type": pl.String(),
        "event_time": _UTC_US,
        "event_date": pl.Date(),
        "user_id": pl.String(),
        "product_id": pl.String(),
        "quantity": pl.Int64(),
        "view_duration": pl.Float64(),
    },
    "One row per product_view or add_to_cart event in silver/events: user, product, quantity "
    "(add_to_cart) or view duration (product_view).",
    "event_date",
    grain=("event_id",),
)
SILVER_USER_SIGNUPS = _table(
    "silver",
    "user_signups",
    {
        "event_id": pl.String(),
        "event_time": _UTC_US,
        "event_date": pl.Date(),
        "user_id": pl.String(),
        "signup_source": pl.String(),
        "plan": pl.String(),
        "country": pl.String(),
    },
    "One row per user_signup event in silver/events (upcast to v2: country null for v1).",
    "event_date",
    grain=("event_id",),
)
SILVER_EVENT_INDEX = _table(
    "silver",
    "event_index",
    {
        "id_bucket": pl.Int32(),
        "event_id": pl.String(),
        "event_date": pl.Date(),
        "day_rows": pl.Int64(),
    },
    "One row per event_id and day of bronze/events (every copy's id, registered type or not): "
    "the days holding an id. Partitioned by a bucket of the id (its last two bytes modulo 31) "
    "so a look-up reads one bucket; `day_rows` is the number of bronze rows of the day indexed.",
    "event_date",
    partition_by=("id_bucket",),
    grain=("event_id", "event_date"),
)
SILVER_USER_ACTIVITY_DAILY = _table(
    "silver",
    "user_activity_daily",
    {
        "day": pl.Date(),
        "user_id": pl.String(),
        "events": pl.Int64(),
        "first_event_time": _UTC_US,
        "last_event_time": _UTC_US,
    },
    "One row per user and day with at least one silver event carrying the user's id.",
    "day",
    grain=("day", "user_id"),
)
SILVER_SESSIONS = _table(
    "silver",
    "sessions",
    {
        "day": pl.Date(),
        "user_id": pl.String(),
        "session_id": pl.String(),
        "started_at": _UTC_US,
        "ended_at": _UTC_US,
        "events": pl.Int64(),
        "duration_s": pl.Float64(),
    },
    "One row per session, on the day it started: a user's events sharing a session id, or "
    "without one split by 30 minutes of inactivity; at most 24 h (a longer run is cut).",
    "day",
    grain=("user_id", "session_id", "started_at"),
)
SILVER_USERS = _table(
    "silver",
    "users",
    {
        "user_id": pl.String(),
        "first_active_day": pl.Date(),
        "last_active_day": pl.Date(),
        "active_days": pl.Int64(),
        "signed_up_at": _UTC_US,
        "cohort_week": pl.Date(),
        "signup_source": pl.String(),
        "plan": pl.String(),
        "country": pl.String(),
        "signups": pl.Int64(),
    },
    "One row per user seen in any event: first and last active day, and the attributes of "
    "their first user_signup (null when they never signed up).",
    None,
    grain=("user_id",),
)
DIM_PRODUCTS = _table(
    "dim",
    "products",
    {
        "product_id": pl.String(),
        "name": pl.String(),
        "category": pl.String(),
        "price": pl.Float64(),
        "currency": pl.String(),
    },
    "One row per product: the product catalog dimension. Optional: when this table exists it "
    "replaces the built-in catalog (eventlake/default_products.py) the simulator sells from.",
    None,
)


GOLD_DAILY_ACTIVE_USERS = _gold(
    "daily_active_users",
    {
        "day": pl.Date(),
        "dau": pl.Int64(),
        "wau": pl.Int64(),
        "mau": pl.Int64(),
        "stickiness": pl.Float64(),
    },
    "One row per day: distinct users active that day (DAU), over the 7 days ending that day "
    "(WAU) and over the 30 days ending that day (MAU); stickiness = DAU / MAU.",
    "day",
    ("day",),
)
GOLD_REVENUE_DAILY = _gold(
    "revenue_daily",
    {
        "day": pl.Date(),
        "currency": pl.String(),
        "orders": pl.Int64(),
        "revenue": pl.Float64(),
        "avg_order_value": pl.Float64(),
    },
    "One row per day and currency: orders counted once by order_id (earliest event wins), "
    "revenue = sum of total_amount, average order value.",
    "day",
    ("day", "currency"),
)
GOLD_REVENUE_BY_PRODUCT = _gold(
    "revenue_by_product",
    {
        "day": pl.Date(),
        "product_id": pl.String(),
        "currency": pl.String(),
        "units": pl.Int64(),
        "revenue": pl.Float64(),
    },
    "One row per day, product and currency: units and revenue from the counted orders' items.",
    "day",
    ("day", "product_id", "currency"),
)
GOLD_SESSIONS_DAILY = _gold(
    "sessions_daily",
    {
        "day": pl.Date(),
        "sessions": pl.Int64(),
        "avg_duration_s": pl.Float64(),
        "p50_duration_s": pl.Float64(),
        "p90_duration_s": pl.Float64(),
    },
    "One row per day of session start: session count and duration statistics.",
    "day",
    ("day",),
)
GOLD_FUNNEL_DAILY = _gold(
    "funnel_daily",
    {
        "day": pl.Date(),
        "viewed": pl.Int64(),
        "carted": pl.Int64(),
        "ordered": pl.Int64(),
        "view_to_cart_rate": pl.Float64(),
        "cart_to_order_rate": pl.Float64(),
        "view_to_order_rate": pl.Float64(),
        "median_seconds_to_order": pl.Float64(),
    },
    "One row per day of funnel entry: users who viewed a product, then carted, then ordered "
    "within 24 h.",
    "day",
    ("day",),
)
GOLD_COHORT_RETENTION = _gold(
    "cohort_retention",
    {
        "cohort_week": pl.Date(),
        "week_offset": pl.Int32(),
        "cohort_size": pl.Int64(),
        "active_users": pl.Int64(),
        "retention_rate": pl.Float64(),
    },
    "One row per signup week (Monday) and week offset: cohort size and users active that week.",
    None,
    ("cohort_week", "week_offset"),
)
GOLD_CUSTOMER_RFM = _gold(
    "customer_rfm",
    {
        "user_id": pl.String(),
        "recency_days": pl.Int32(),
        "frequency": pl.Int64(),
        "monetary": pl.Float64(),
        "r_score": pl.Int8(),
        "f_score": pl.Int8(),
        "m_score": pl.Int8(),
        "segment": pl.String(),
        "last_order_day": pl.Date(),
        "as_of_day": pl.Date(),
        "unvalued_orders": pl.Int64(),
    },
    "One row per customer: recency, frequency and monetary value as of the last day, quintile "
    "scores and a segment.",
    None,
    ("user_id",),
)
GOLD_PRODUCT_PERFORMANCE = _gold(
    "product_performance",
    {
        "day": pl.Date(),
        "product_id": pl.String(),
        "category": pl.String(),
        "views": pl.Int64(),
        "add_to_carts": pl.Int64(),
        "units": pl.Int64(),
        "revenue": pl.Float64(),
    },
    "One row per day and product: views, add-to-carts, units and revenue, with the category.",
    "day",
    ("day", "product_id"),
)
GOLD_LIFECYCLE_DAILY = _gold(
    "lifecycle_daily",
    {
        "day": pl.Date(),
        "active": pl.Int64(),
        "new": pl.Int64(),
        "returning": pl.Int64(),
        "resurrecting": pl.Int64(),
        "dormant": pl.Int64(),
    },
    "One row per day: active users split into new (first active day), returning (also active "
    "the day before) and resurrecting (inactive the day before, active earlier); dormant = "
    "active the day before but not this day.",
    "day",
    ("day",),
)

GOLD_TRAFFIC_HOURLY = _gold(
    "traffic_hourly",
    {
        "day": pl.Date(),
        "hour": _UTC_US,
        "events": pl.Int64(),
        "active_users": pl.Int64(),
    },
    "One row per UTC hour with silver events: the events and the distinct users among them.",
    "day",
    ("day", "hour"),
)
GOLD_REVENUE_HOURLY = _gold(
    "revenue_hourly",
    {
        "day": pl.Date(),
        "hour": _UTC_US,
        "currency": pl.String(),
        "orders": pl.Int64(),
        "revenue": pl.Float64(),
    },
    "One row per UTC hour and currency with counted orders (an order counts once, in the hour "
    "of its earliest event): orders and revenue.",
    "day",
    ("day", "hour", "currency"),
)

# The audit trail of the read models (written by the restatement ledger and reconciliation).
AUDIT_RESTATEMENTS = _table(
    "audit",
    "restatements",
    {
        "restated_at": _UTC_US,
        "table": pl.String(),
        "day": pl.Date(),
        "key": pl.String(),
        "column": pl.String(),
        "old_value": pl.Float64(),
        "new_value": pl.Float64(),
        "old_version": pl.Int64(),
        "new_version": pl.Int64(),
        "cause": pl.String(),
        "run_id": pl.String(),
    },
    "One row per changed gold figure: the table, day, other grain columns (`key`, JSON), "
    "column, old and new value and Delta versions, and the cause (late_events, "
    "reconciliation, replay, backfill).",
    "day",
    partition_by=(),
)
AUDIT_RECONCILIATION = _table(
    "audit",
    "reconciliation",
    {
        "checked_at": _UTC_US,
        "run_id": pl.String(),
        "table": pl.String(),
        "day": pl.Date(),
        "rows_compared": pl.Int64(),
        "mismatches": pl.Int64(),
        "max_abs_difference": pl.Float64(),
        "healed": pl.Boolean(),
    },
    "One row per table and day per reconciliation run: rows compared against a rebuild from "
    "the log, mismatches, the largest difference, and whether the run healed them.",
    "day",
    partition_by=(),
)

# The data keys of crypto-shredding (eventlake/field_crypto.py, docs/privacy.md).
PRIVACY_SUBJECT_KEYS = _table(
    "privacy",
    "subject_keys",
    {
        "subject_id": pl.String(),
        "key_id": pl.String(),
        "master_key_id": pl.String(),
        "wrapped_key": pl.Binary(),
        "created_at": _UTC_US,
    },
    "One row per data key of a subject (user): the key wrapped under the master key "
    "`master_key_id`. Erasing a subject deletes its rows and vacuums their files, which makes "
    "its sensitive fields in the log unreadable.",
    None,
    grain=("key_id",),
)

TABLES: tuple[TableSpec, ...] = (
    BRONZE_EVENTS,
    BRONZE_DEAD_LETTERS,
    BRONZE_INGEST_BATCHES,
    BRONZE_RETIRED_DAYS,
    SILVER_EVENTS,
    SILVER_ORDERS,
    SILVER_ORDER_ITEMS,
    SILVER_PRODUCT_EVENTS,
    SILVER_USER_SIGNUPS,
    SILVER_EVENT_INDEX,
    SILVER_USER_ACTIVITY_DAILY,
    SILVER_SESSIONS,
    SILVER_USERS,
    DIM_PRODUCTS,
    GOLD_DAILY_ACTIVE_USERS,
    GOLD_REVENUE_DAILY,
    GOLD_REVENUE_BY_PRODUCT,
    GOLD_SESSIONS_DAILY,
    GOLD_FUNNEL_DAILY,
    GOLD_COHORT_RETENTION,
    GOLD_CUSTOMER_RFM,
    GOLD_PRODUCT_PERFORMANCE,
    GOLD_LIFECYCLE_DAILY,
    GOLD_TRAFFIC_HOURLY,
    GOLD_REVENUE_HOURLY,
    AUDIT_RESTATEMENTS,
    AUDIT_RECONCILIATION,
    PRIVACY_SUBJECT_KEYS,
)
BY_NAME: dict[str, TableSpec] = {t.name: t for t in TABLES}

# The silver tables in build order (the log's copy, its id index, the typed tables, sessions;
# then users, rebuilt whole), for the parts that act on the whole layer (reconciliation).
SILVER_TABLES: tuple[TableSpec, ...] = (
    SILVER_EVENTS,
    SILVER_EVENT_INDEX,
    SILVER_ORDERS,
    SILVER_ORDER_ITEMS,
    SILVER_PRODUCT_EVENTS,
    SILVER_USER_SIGNUPS,
    SILVER_USER_ACTIVITY_DAILY,
    SILVER_SESSIONS,
    SILVER_USERS,
)
SILVER_DAY_TABLES: tuple[TableSpec, ...] = tuple(t for t in SILVER_TABLES if t.day_column)

# The gold tables, for the parts that act on the whole layer (one list, here), in the order the read models are built and reported: the day tables, then the tables
# rebuilt whole from the whole history (no day column).
GOLD_TABLES: tuple[TableSpec, ...] = (
    GOLD_REVENUE_DAILY,
    GOLD_REVENUE_BY_PRODUCT,
    GOLD_DAILY_ACTIVE_USERS,
    GOLD_SESSIONS_DAILY,
    GOLD_FUNNEL_DAILY,
    GOLD_PRODUCT_PERFORMANCE,
    GOLD_LIFECYCLE_DAILY,
    GOLD_TRAFFIC_HOURLY,
    GOLD_REVENUE_HOURLY,
    GOLD_COHORT_RETENTION,
    GOLD_CUSTOMER_RFM,
)
GOLD_DAY_TABLES: tuple[TableSpec, ...] = tuple(t for t in GOLD_TABLES if t.day_column)
GOLD_WHOLE_TABLES: tuple[TableSpec, ...] = tuple(t for t in GOLD_TABLES if not t.day_column)
