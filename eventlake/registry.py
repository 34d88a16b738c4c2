"""The event registry: every registered event type, its versions, payload schemas and upcasters.

A published version is frozen: evolution happens by adding a version and a small pure
upcaster from the previous one, so readers always see the latest version (docs/wire-format.md).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from eventlake.countries import ISO_3166_ALPHA2

FieldKind = Literal["str", "int", "number", "country", "currency", "list"]

_INT64_MAX = 2**63 - 1
_CURRENCY = re.compile(r"[A-Z]{3}")

Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]


@dataclass(frozen=True)
class FieldRule:
    """One payload field: its JSON kind, bounds, and (for lists) the fields of each item."""

    name: str
    kind: FieldKind
    required: bool = True
    minimum: float | None = None
    items: tuple[FieldRule, ...] = ()


@dataclass(frozen=True)
class EventVersion:
    """One frozen version of an event type's payload schema."""

    version: int
    fields: tuple[FieldRule, ...]
    check: Callable[[Payload], str | None] | None = None


@dataclass(frozen=True)
class EventType:
    """A registered event type: its default topic, its versions and the upcasters between them."""

    name: str
    topic: str
    versions: Mapping[int, EventVersion]
    upcasters: Mapping[int, Upcaster] = field(default_factory=dict)  # from version v to v + 1
    # Personal data in the payload (any version, declared in the schema or not): encrypted at
    # ingest under the data key of the subject named by the payload's `subject` field, so that
    # erasing the subject's key makes them unreadable (docs/privacy.md).
    sensitive: tuple[str, ...] = ()
    subject: str = "user_id"

    @property
    def latest_version(self) -> int:
        return max(self.versions)


def _check_field(rule: FieldRule, value: Any, where: str) -> str | None:
    """Returns why `value` breaks `rule`, or None when it fits."""
    path = f"{where}{rule.name}"
    kind = rule.kind
    if kind in ("str", "country", "currency"):
        if not isinstance(value, str):
            return f"{path} must be a string"
        if kind == "country" and value not in ISO_3166_ALPHA2:
            return f"{path} must be an ISO 3166 alpha-2 country code, got {value[:16]!r}"
        if kind == "currency" and not _CURRENCY.fullmatch(value):
            return f"{path} must be 3 upper-case letters, got {value[:16]!r}"
        return None
    if kind == "int":
        if type(value) is not int:
            return f"{path} must be an integer"
        if abs(value) > _INT64_MAX:
            return f"{path} is out of the 64-bit integer range"
    elif kind == "number":
        if type(value) not in (int, float) or (type(value) is float and not math.isfinite(value)):
            return f"{path} must be a number"
        if abs(value) > 1e300:
            return f"{path} is out of range"
    elif kind == "list":
        if not isinstance(value, list) or not value:
            return f"{path} must be a non-empty list"
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                return f"{path}[{i}] must be an object"
            for sub in rule.items:
                detail = _check_object_field(sub, item, f"{path}[{i}].")
                if detail:
                    return detail
        return None
    if rule.minimum is not None and value < rule.minimum:
        return f"{path} must be >= {rule.minimum:g}"
    return None


def _check_object_field(rule: FieldRule, obj: Mapping[str, Any], where: str) -> str | None:
    if rule.name not in obj:
        return f"{where}{rule.name} is required" if rule.required else None
    return _check_field(rule, obj[rule.name], where)


def validate_payload(event_type: EventType, version: int, payload: Mapping[str, Any]) -> str | None:
    """Returns why `payload` breaks the schema of `event_type` at `version`, or None if valid.

    The caller has checked that `version` is registered. Fields beyond the schema are allowed.
    """
    spec = event_type.versions[version]
    for rule in spec.fields:
        detail = _check_object_field(rule, payload, "payload.")
        if detail:
            return detail
    return spec.check(dict(payload)) if spec.check else None


def upcast(event_type: EventType, version: int, payload: Payload) -> Payload:
    """Returns `payload` (valid at `version`) upcast to the latest version; the input is not changed."""
    for v in range(version, event_type.latest_version):
        payload = event_type.upcasters[v](payload)
    return payload


# --- upcasters: small, pure, one version step each ------------------------------------------


def upcast_user_signup_v1_v2(payload: Payload) -> Payload:
    """v1 had no country: v2 readers see it as unknown (null)."""
    return {**payload, "country": None}


def upcast_order_placed_v1_v2(payload: Payload) -> Payload:
    """v1 items had no unit price: spread the order total evenly over the units."""
    items = payload["items"]
    units = sum(item["quantity"] for item in items)
    unit_price = payload["total_amount"] / units
    return {**payload, "items": [{**item, "unit_price": unit_price} for item in items]}


def _order_total_matches_items(payload: Payload) -> str | None:
    expected = sum(item["quantity"] * item["unit_price"] for item in payload["items"])
    if abs(payload["total_amount"] - expected) > 0.01 + 1e-9 * abs(expected):
        return (
            f"payload.total_amount {payload['total_amount']} differs from "
            f"sum(quantity x unit_price) {expected:.2f} by more than 0.01"
        )
    return None


# --- the registry -----------------------------------------------------------------------------

USER_EVENTS = "user_events"
COMMERCE_EVENTS = "commerce_events"

_USER_ID = FieldRule("user_id", "str")
_SIGNUP_V1 = (_USER_ID, FieldRule("signup_source", "str"), FieldRule("plan", "str"))
_ITEM_V1 = (FieldRule("product_id", "str"), FieldRule("quantity", "int", minimum=1))
_ORDER_V1 = (
    _USER_ID,
    FieldRule("order_id", "str"),
    FieldRule("total_amount", "number", minimum=0),
    FieldRule("currency", "currency"),
    FieldRule("items", "list", items=_ITEM_V1),
)
_ORDER_V2 = (
    *_ORDER_V1[:4],
    FieldRule("items", "list", items=(*_ITEM_V1, FieldRule("unit_price", "number", minimum=0))),
)


def _single(
    name: str, topic: str, *fields: FieldRule, sensitive: tuple[str, ...] = ()
) -> EventType:
    return EventType(name, topic, {1: EventVersion(1, fields)}, sensitive=sensitive)


REGISTRY: Mapping[str, EventType] = {
    t.name: t
    for t in (
        EventType(
            "user_signup",
            USER_EVENTS,
            {
                1: EventVersion(1, _SIGNUP_V1),
                2: EventVersion(2, (*_SIGNUP_V1, FieldRule("country", "country"))),
            },
            {1: upcast_user_signup_v1_v2},
            sensitive=("email",),
        ),
        _single("login", USER_EVENTS, _USER_ID, sensitive=("ip",)),
        _single("logout", USER_EVENTS, _USER_ID),
        _single(
            "page_view",
            USER_EVENTS,
            _USER_ID,
            FieldRule("url", "str"),
            FieldRule("referrer", "str", required=False),
        ),
        _single(
            "product_view",
            COMMERCE_EVENTS,
            _USER_ID,
            FieldRule("product_id", "str"),
            FieldRule("view_duration", "number", minimum=0),
        ),
        _single(
            "add_to_cart",
            COMMERCE_EVENTS,
            _USER_ID,
            FieldRule("product_id", "str"),
            FieldRule("quantity", "int", minimum=1),
        ),
        EventType(
            "order_placed",
            COMMERCE_EVENTS,
            {
                1: EventVersion(1, _ORDER_V1),
                2: EventVersion(2, _ORDER_V2, check=_order_total_matches_items),
            },
            {1: upcast_order_placed_v1_v2},
        ),
    )
}

DEFAULT_TOPICS: tuple[str, ...] = (USER_EVENTS, COMMERCE_EVENTS)

SENSITIVE_FIELDS: Mapping[str, tuple[str, ...]] = {
    t.name: t.sensitive for t in REGISTRY.values() if t.sensitive
}
"""event type -> its sensitive payload fields (only types that have any)."""


def topic_for(event_type: str, topics: Sequence[str]) -> str:
    """Returns the topic of an event type among `topics` (the settings' topics).

    The registry's default topic when it is one of them, else the topic at the same position
    as the default among the default topics (wrapping), so custom topic lists still split users
    from commerce. A type the registry does not know goes to the first topic (the ingester
    keeps such events, marked unregistered).
    """
    if event_type not in REGISTRY:
        return topics[0]
    default = REGISTRY[event_type].topic
    if default in topics:
        return default
    return topics[DEFAULT_TOPICS.index(default) % len(topics)]
