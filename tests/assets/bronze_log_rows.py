"""Test helper: bronze/events rows built and committed the way the ingester writes them."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time
from typing import Any

import polars as pl

from eventlake import lake
from eventlake.catalog import BRONZE_EVENTS
from eventlake.registry import REGISTRY
from eventlake.settings import Settings

_OFFSETS = itertools.count(1)


def noon(day: date) -> datetime:
    """Returns 12:00 UTC of `day`."""
    return datetime.combine(day, time(12), UTC)


def event(
    event_id: str,
    event_type: str,
    at: datetime,
    payload: Mapping[str, Any],
    *,
    version: int = 1,
    metadata: Mapping[str, Any] | None = None,
    registered: bool | None = None,
    topic: str = "user_events",
    partition: int = 0,
    offset: int | None = None,
    ingested_at: datetime | None = None,
) -> dict[str, Any]:
    """Returns one bronze/events row; the event day is the UTC day of `at`."""
    ingested = ingested_at or datetime.now(UTC)
    return {
        "event_id": event_id,
        "event_type": event_type,
        "schema_version": version,
        "aggregate_id": str(payload.get("user_id", "agg")),
        "event_time": at,
        "event_date": at.astimezone(UTC).date(),
        "payload": json.dumps(payload),
        "metadata": None if metadata is None else json.dumps(metadata),
        "extra": None,
        "registered": event_type in REGISTRY if registered is None else registered,
        "kafka_topic": topic,
        "kafka_partition": partition,
        "kafka_offset": next(_OFFSETS) if offset is None else offset,
        "kafka_timestamp": ingested,
        "ingested_at": ingested,
    }


def login(event_id: str, user_id: str, at: datetime, **kw: Any) -> dict[str, Any]:
    """Returns a bronze row of a `login` by `user_id`."""
    return event(event_id, "login", at, {"user_id": user_id}, **kw)


def order(
    event_id: str,
    user_id: str,
    order_id: str,
    total: float,
    currency: str,
    at: datetime,
    *,
    unit_prices: bool = True,
    **kw: Any,
) -> dict[str, Any]:
    """Returns a bronze row of a one-item `order_placed` (v2, or v1 without unit prices)."""
    item: dict[str, Any] = {"product_id": "p1", "quantity": 1}
    if unit_prices:
        item["unit_price"] = total
    payload = {
        "user_id": user_id,
        "order_id": order_id,
        "total_amount": total,
        "currency": currency,
        "items": [item],
    }
    return event(
        event_id,
        "order_placed",
        at,
        payload,
        version=2 if unit_prices else 1,
        topic="commerce_events",
        **kw,
    )


def bronze_frame(rows: Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    """Returns the rows as a frame of the bronze/events schema."""
    return pl.DataFrame(list(rows), schema=BRONZE_EVENTS.schema)


def append_bronze(settings: Settings, rows: Iterable[Mapping[str, Any]]) -> int:
    """Appends the rows in one commit that records its event dates, as the ingester does."""
    frame = bronze_frame(rows)
    dates = ",".join(sorted({d.isoformat() for d in frame.get_column("event_date")}))
    return lake.append(settings, BRONZE_EVENTS, frame, metadata={lake.EVENT_DATES_KEY: dates})
