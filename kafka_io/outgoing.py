"""Events a service sends: the envelope filled in, checked by the ingester's own rules.

`build` makes the message of any registered event type and version; the typed helpers below
make one of each type at its latest version with named fields. Each returns an
`OutgoingEvent` whose bytes `eventlake.envelope.parse` accepts, or raises `InvalidEvent` with
the rejection code the ingester would have given (docs/wire-format.md), so nothing a service
sends this way can end in the dead letters. Send them with `kafka_io.producer.EventProducer`
(docs/producer.md).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from eventlake.envelope import Rejection, parse
from eventlake.registry import REGISTRY

DEFAULT_MAX_BYTES = 1024 * 1024  # the ingester's default limit (EVENTLAKE_MAX_MESSAGE_BYTES)


class InvalidEvent(ValueError):
    """The event would be rejected: `code` is the ingester's rejection code (or
    `unregistered_type` for a type the registry does not know), `detail` says why."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class OutgoingEvent:
    """One valid event, ready to send: `value` is its JSON envelope, `key` its aggregate id
    (Kafka keeps one key's messages in order)."""

    event_type: str
    event_id: str
    aggregate_id: str
    value: bytes

    @property
    def key(self) -> bytes:
        """The Kafka message key: the aggregate id."""
        return self.aggregate_id.encode()


def build(
    event_type: str,
    payload: Mapping[str, Any],
    *,
    version: int | None = None,
    aggregate_id: str | None = None,
    event_id: str | None = None,
    at: datetime | int | None = None,
    metadata: Mapping[str, Any] | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> OutgoingEvent:
    """Returns the event `event_type` with `payload`, checked as the ingester checks it.

    Args:
        version: the schema version (default: the type's latest).
        aggregate_id: the entity whose events must stay in order (default: payload.user_id).
        event_id: unique per event, kept across retries (default: a new UUID4).
        at: when it happened: an aware datetime or epoch milliseconds (default: now).
        metadata: session_id, source, correlation ids...: sent as given.
        max_bytes: the ingester's message size limit.

    Raises:
        InvalidEvent: the type is not registered, or the ingester would reject the message.
    """
    kind = REGISTRY.get(event_type)
    if kind is None:
        known = ", ".join(sorted(REGISTRY))
        raise InvalidEvent("unregistered_type", f"{event_type!r} is not registered ({known})")
    aggregate = aggregate_id if aggregate_id is not None else payload.get("user_id")
    envelope: dict[str, Any] = {
        "event_id": event_id or str(uuid.uuid4()),
        "event_type": event_type,
        "aggregate_id": aggregate,
        "payload": dict(payload),
        "schema_version": version or kind.latest_version,
        "timestamp": _epoch_ms(at),
    }
    if metadata is not None:
        envelope["metadata"] = dict(metadata)
    try:
        value = msgspec.json.encode(envelope)
    except (TypeError, msgspec.EncodeError) as err:
        raise InvalidEvent("not_json", str(err)) from None
    found = parse(value, now_ms=int(time.time() * 1000), max_bytes=max_bytes)
    if isinstance(found, Rejection):
        raise InvalidEvent(found.code, found.detail)
    return OutgoingEvent(event_type, found.event_id, found.aggregate_id, value)


def _epoch_ms(at: datetime | int | None) -> int:
    if at is None:
        return int(time.time() * 1000)
    if isinstance(at, datetime):
        if at.tzinfo is None:
            raise InvalidEvent("invalid_field", "timestamp must be timezone-aware (UTC)")
        return int(at.timestamp() * 1000)
    return at


# --- one typed helper per registered type, at its latest version ----------------------------


@dataclass(frozen=True)
class OrderItem:
    """One line of an order: the product, how many, at what unit price."""

    product_id: str
    quantity: int
    unit_price: float


def user_signup(
    user_id: str,
    *,
    signup_source: str,
    plan: str,
    country: str,
    email: str | None = None,
    **envelope: Any,
) -> OutgoingEvent:
    """A user signed up (`email` is personal data, sealed at ingest: docs/privacy.md)."""
    payload = {"user_id": user_id, "signup_source": signup_source, "plan": plan, "country": country}
    if email is not None:
        payload["email"] = email
    return build("user_signup", payload, **envelope)


def login(user_id: str, *, ip: str | None = None, **envelope: Any) -> OutgoingEvent:
    """A user logged in (`ip` is personal data, sealed at ingest)."""
    return build("login", _without_none(user_id=user_id, ip=ip), **envelope)


def logout(user_id: str, **envelope: Any) -> OutgoingEvent:
    """A user logged out."""
    return build("logout", {"user_id": user_id}, **envelope)


def page_view(
    user_id: str, *, url: str, referrer: str | None = None, **envelope: Any
) -> OutgoingEvent:
    """A user viewed a page."""
    return build(
        "page_view", _without_none(user_id=user_id, url=url, referrer=referrer), **envelope
    )


def product_view(
    user_id: str, *, product_id: str, view_duration: float, **envelope: Any
) -> OutgoingEvent:
    """A user viewed a product for `view_duration` seconds."""
    payload = {"user_id": user_id, "product_id": product_id, "view_duration": view_duration}
    return build("product_view", payload, **envelope)


def add_to_cart(user_id: str, *, product_id: str, quantity: int, **envelope: Any) -> OutgoingEvent:
    """A user put `quantity` of a product in their cart."""
    payload = {"user_id": user_id, "product_id": product_id, "quantity": quantity}
    return build("add_to_cart", payload, **envelope)


def order_placed(
    user_id: str,
    *,
    order_id: str,
    currency: str,
    items: Sequence[OrderItem],
    total_amount: float | None = None,
    **envelope: Any,
) -> OutgoingEvent:
    """A user placed an order; `total_amount` defaults to the sum of the items, to the cent."""
    lines = [
        {"product_id": i.product_id, "quantity": i.quantity, "unit_price": i.unit_price}
        for i in items
    ]
    total = total_amount
    if total is None:
        total = round(sum(i.quantity * i.unit_price for i in items), 2)
    payload = {
        "user_id": user_id, "order_id": order_id, "total_amount": total,
        "currency": currency, "items": lines,
    }  # fmt: skip
    return build("order_placed", payload, **envelope)


def _without_none(**fields: Any) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


HELPERS: Mapping[str, Callable[..., OutgoingEvent]] = {
    "user_signup": user_signup,
    "login": login,
    "logout": logout,
    "page_view": page_view,
    "product_view": product_view,
    "add_to_cart": add_to_cart,
    "order_placed": order_placed,
}
"""event type -> its typed helper (every registered type has one)."""
