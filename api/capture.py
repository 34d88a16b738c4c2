"""The HTTP capture endpoint: events from clients that cannot speak Kafka (docs/api.md).

`POST /v1/events` takes one event (a JSON object) or a batch (an array of at most
`MAX_BATCH`). Each event is checked by `eventlake.envelope.parse`, the function the ingester
runs, and gets its own result: `accepted` with where Kafka stored it, `rejected` with the
dead-letter code and reason the ingester would have given, or `failed` when Kafka did not
acknowledge it in time. The response comes only after Kafka answered for every accepted event:
nothing is reported accepted that Kafka has not acknowledged. 200 when every valid event was
stored, 503 when Kafka failed some (send those again: their event ids keep silver free of
copies).
"""

from __future__ import annotations

import time
from typing import Any

import msgspec
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse

from api.guards import RateLimit, limited_body, require_write_key
from eventlake.envelope import Rejection, parse
from eventlake.settings import Settings
from kafka_io.outgoing import OutgoingEvent
from kafka_io.producer import Delivery, EventProducer

MAX_BATCH = 500
DELIVERY_TIMEOUT_S = 10.0


def capture_router(settings: Settings, producer: EventProducer) -> APIRouter:
    """Returns the router of `POST /v1/events`, producing through `producer`."""
    router = APIRouter(tags=["capture"])
    limit = RateLimit(settings.api_rate_limit)

    @router.post(
        "/v1/events",
        summary="Send one event or a batch",
        responses={
            200: {"description": "Every valid event is stored in Kafka; see each result"},
            400: {"description": "The body is not a JSON object or array"},
            401: {"description": "Missing or wrong X-Write-Key"},
            413: {"description": "Body or batch too large"},
            429: {"description": "Over the rate limit of the write key"},
            503: {"description": "Kafka did not acknowledge some valid events"},
        },
    )
    async def post_events(request: Request) -> JSONResponse:
        key = require_write_key(settings, request)
        body = await limited_body(request, settings.api_max_body_bytes)
        events = _events_of(body)
        limit.take(key, len(events))
        results, valid = _checked(settings, events)
        sent = producer.send_all([event for _, event in valid], timeout=DELIVERY_TIMEOUT_S)
        failed = 0
        for (i, event), outcome in zip(valid, sent, strict=True):
            if isinstance(outcome, Delivery):
                results[i] = {"status": "accepted", "event_id": event.event_id,
                              "topic": outcome.topic, "partition": outcome.partition,
                              "offset": outcome.offset}  # fmt: skip
            else:
                failed += 1
                results[i] = {"status": "failed", "event_id": event.event_id, "detail": outcome}
        counts = {s: sum(r["status"] == s for r in results) for s in ("accepted", "rejected")}
        return JSONResponse(
            {**counts, "failed": failed, "results": results}, status_code=503 if failed else 200
        )

    return router


def _events_of(body: bytes) -> list[Any]:
    """Returns the events of a request body: an object is one event, an array a batch."""
    try:
        found = msgspec.json.decode(body)
    except msgspec.DecodeError as err:
        raise HTTPException(400, f"body is not JSON: {err}") from None
    events = found if isinstance(found, list) else [found]
    if not isinstance(found, list | dict):
        raise HTTPException(400, "body must be a JSON object (one event) or array (a batch)")
    if not events:
        raise HTTPException(400, "the batch is empty")
    if len(events) > MAX_BATCH:
        raise HTTPException(413, f"a batch holds at most {MAX_BATCH} events, not {len(events)}")
    return events


def _checked(
    settings: Settings, events: list[Any]
) -> tuple[list[dict[str, Any]], list[tuple[int, OutgoingEvent]]]:
    """Returns a result per event (rejections filled in) and the valid events to send."""
    now_ms = int(time.time() * 1000)
    results: list[dict[str, Any]] = []
    valid: list[tuple[int, OutgoingEvent]] = []
    for i, event in enumerate(events):
        value = msgspec.json.encode(event)  # the bytes the ingester will read
        found = parse(value, now_ms=now_ms, max_bytes=settings.max_message_bytes)
        if isinstance(found, Rejection):
            results.append({"status": "rejected", "code": found.code, "detail": found.detail})
            continue
        results.append({})
        valid.append(
            (i, OutgoingEvent(found.event_type, found.event_id, found.aggregate_id, value))
        )
    return results, valid
