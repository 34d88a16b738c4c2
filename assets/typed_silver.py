"""Typed silver tables: each event type's payload JSON decoded once, into columns.

silver/events keeps payloads as JSON text (upcast to the latest version); the projections need
typed columns. Each payload is decoded here exactly once, with `str.json_decode` and an
explicit struct dtype per event type (fields beyond the schema are ignored, missing optional
fields are null), into: silver/orders and silver/order_items, silver/product_events,
silver/user_signups and silver/user_activity_daily. One Dagster multi-asset writes all five
for a run's days, reading silver/events once.
"""

from __future__ import annotations

import dagster as dg
import polars as pl

from assets.day_range import (
    day_metadata,
    lake_settings,
    multi_day_asset_kwargs,
    run_days,
)
from assets.silver import day_chunks
from assets.timings import Phases
from eventlake import lake
from eventlake.catalog import (
    SILVER_EVENTS,
    SILVER_ORDER_ITEMS,
    SILVER_ORDERS,
    SILVER_PRODUCT_EVENTS,
    SILVER_USER_ACTIVITY_DAILY,
    SILVER_USER_SIGNUPS,
    TableSpec,
)

ORDER_PAYLOAD = pl.Struct(
    {
        "order_id": pl.String,
        "total_amount": pl.Float64,
        "currency": pl.String,
        "items": pl.List(
            pl.Struct({"product_id": pl.String, "quantity": pl.Int64, "unit_price": pl.Float64})
        ),
    }
)
PRODUCT_PAYLOAD = pl.Struct(
    {"product_id": pl.String, "quantity": pl.Int64, "view_duration": pl.Float64}
)
SIGNUP_PAYLOAD = pl.Struct({"signup_source": pl.String, "plan": pl.String, "country": pl.String})
TYPED_TABLES: tuple[TableSpec, ...] = (
    SILVER_ORDERS,
    SILVER_ORDER_ITEMS,
    SILVER_PRODUCT_EVENTS,
    SILVER_USER_SIGNUPS,
    SILVER_USER_ACTIVITY_DAILY,
)
CHUNK_DAYS = 30
_KEYS = ("event_id", "event_time", "event_date", "user_id")


def decoded_orders(events: pl.LazyFrame) -> pl.LazyFrame:
    """One row per order_placed event: the envelope keys and the decoded payload (`order`)."""
    return events.filter(pl.col("event_type") == "order_placed").select(
        *_KEYS, order=pl.col("payload").str.json_decode(ORDER_PAYLOAD)
    )


def orders(decoded: pl.LazyFrame) -> pl.LazyFrame:
    """One row per order_placed event (of `decoded_orders`): order, total, currency, items, units."""
    items = pl.col("order").struct.field("items")
    return (
        decoded.select(
            *_KEYS,
            pl.col("order").struct.field("order_id", "total_amount", "currency"),
            items=items.list.len(),
            units=items.list.eval(pl.element().struct.field("quantity")).list.sum(),
        )
        .select(SILVER_ORDERS.schema.names())
        .cast(SILVER_ORDERS.schema)
    )


def order_items(decoded: pl.LazyFrame) -> pl.LazyFrame:
    """One row per item of each order_placed event (of `decoded_orders`), in item order."""
    return (
        decoded.select(
            "event_id",
            "event_date",
            pl.col("order").struct.field("order_id", "currency"),
            item_rows=pl.col("order").struct.field("items"),
        )
        .with_columns(item=pl.int_ranges(pl.col("item_rows").list.len()))
        .explode("item_rows", "item")
        .filter(pl.col("item_rows").is_not_null())
        .unnest("item_rows")
        .select(SILVER_ORDER_ITEMS.schema.names())
        .cast(SILVER_ORDER_ITEMS.schema)
    )


def product_events(events: pl.LazyFrame) -> pl.LazyFrame:
    """One row per product_view or add_to_cart event: user, product, quantity or view duration."""
    return (
        events.filter(pl.col("event_type").is_in(["product_view", "add_to_cart"]))
        .select(*_KEYS, "event_type", product=pl.col("payload").str.json_decode(PRODUCT_PAYLOAD))
        .unnest("product")
        .select(SILVER_PRODUCT_EVENTS.schema.names())
        .cast(SILVER_PRODUCT_EVENTS.schema)
    )


def user_signups(events: pl.LazyFrame) -> pl.LazyFrame:
    """One row per user_signup event: user, source, plan, country (null for upcast v1)."""
    return (
        events.filter(pl.col("event_type") == "user_signup")
        .select(*_KEYS, signup=pl.col("payload").str.json_decode(SIGNUP_PAYLOAD))
        .unnest("signup")
        .select(SILVER_USER_SIGNUPS.schema.names())
        .cast(SILVER_USER_SIGNUPS.schema)
    )


def user_activity_daily(events: pl.LazyFrame) -> pl.LazyFrame:
    """One row per user and day with events: count, first and last event time; sorted."""
    return (
        events.filter(pl.col("user_id").is_not_null())
        .group_by(day=pl.col("event_date"), user_id=pl.col("user_id"))
        .agg(
            events=pl.len(),
            first_event_time=pl.col("event_time").min(),
            last_event_time=pl.col("event_time").max(),
        )
        .sort("day", "user_id")
        .cast(SILVER_USER_ACTIVITY_DAILY.schema)
    )


def typed_tables(events: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Returns every typed silver table (by name) built from silver/events rows, each payload
    decoded once."""
    frame = events.lazy()
    decoded = decoded_orders(frame).collect().lazy()
    lazies = {
        SILVER_ORDERS.name: orders(decoded),
        SILVER_ORDER_ITEMS.name: order_items(decoded),
        SILVER_PRODUCT_EVENTS.name: product_events(frame),
        SILVER_USER_SIGNUPS.name: user_signups(frame),
        SILVER_USER_ACTIVITY_DAILY.name: user_activity_daily(frame),
    }
    return dict(zip(lazies, pl.collect_all(list(lazies.values())), strict=True))


def typed_silver_asset(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """Returns the multi-asset writing every typed silver table for a run's range of days."""
    specs = [
        dg.AssetSpec(
            spec.asset_key,
            deps=[SILVER_EVENTS.asset_key],
            description=spec.description,
            group_name=spec.layer,
            kinds={"polars", "delta"},
            metadata={"table": spec.name},
        )
        for spec in TYPED_TABLES
    ]

    @dg.multi_asset(name="typed_silver", specs=specs, **multi_day_asset_kwargs(partitions_def))
    def typed_silver(context):  # Dagster rejects a string-annotated context
        settings = lake_settings(context)
        phases = Phases()
        first, last = run_days(context)
        columns = ["event_id", "event_type", "user_id", "event_time", "event_date", "payload"]
        parts: dict[str, list[pl.DataFrame]] = {spec.name: [] for spec in TYPED_TABLES}
        # Chunks of days bound the memory of reading silver/events (payloads are large); the
        # typed rows are small, so each table is written once, in one commit for the range.
        for a, b in day_chunks(first, last, CHUNK_DAYS):
            events = lake.scan_days(settings, SILVER_EVENTS, a, b).select(columns).collect()
            phases.lap("silver_read")
            for name, frame in typed_tables(events).items():
                parts[name].append(frame)
            del events
            phases.lap("decode")
        rows = {}
        for spec in TYPED_TABLES:
            frame = pl.concat(parts.pop(spec.name))
            lake.replace_days(settings, spec, frame, first, last)
            rows[spec.name] = frame.height
            phases.lap("write")
        # Yielded after every write: Dagster stores each result's events before resuming.
        for spec in TYPED_TABLES:
            yield dg.MaterializeResult(
                asset_key=spec.asset_key,
                metadata={
                    **day_metadata(settings, spec, rows[spec.name], first, last),
                    **phases.metadata(),
                },
            )

    return typed_silver
