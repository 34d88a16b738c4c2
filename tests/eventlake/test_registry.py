"""The event registry: every type and version of docs/wire-format.md, validation and upcasting."""

from __future__ import annotations

from typing import Any

import pytest

from eventlake.registry import (
    REGISTRY,
    upcast,
    upcast_order_placed_v1_v2,
    upcast_user_signup_v1_v2,
    validate_payload,
)

VALID: dict[tuple[str, int], dict[str, Any]] = {
    ("user_signup", 1): {"user_id": "u", "signup_source": "ads", "plan": "free"},
    ("user_signup", 2): {"user_id": "u", "signup_source": "ads", "plan": "free", "country": "DE"},
    ("login", 1): {"user_id": "u"},
    ("logout", 1): {"user_id": "u"},
    ("page_view", 1): {"user_id": "u", "url": "/home"},
    ("product_view", 1): {"user_id": "u", "product_id": "p", "view_duration": 0},
    ("add_to_cart", 1): {"user_id": "u", "product_id": "p", "quantity": 1},
    ("order_placed", 1): {
        "user_id": "u",
        "order_id": "o",
        "total_amount": 30,
        "currency": "EUR",
        "items": [{"product_id": "p", "quantity": 2}, {"product_id": "q", "quantity": 1}],
    },
    ("order_placed", 2): {
        "user_id": "u",
        "order_id": "o",
        "total_amount": 25.5,
        "currency": "USD",
        "items": [
            {"product_id": "p", "quantity": 2, "unit_price": 10.25},
            {"product_id": "q", "quantity": 1, "unit_price": 5},
        ],
    },
}


def test_every_spec_type_and_version_is_registered() -> None:
    registered = {(name, v) for name, t in REGISTRY.items() for v in t.versions}
    assert registered == set(VALID)
    assert REGISTRY["user_signup"].topic == "user_events"
    assert REGISTRY["order_placed"].topic == "commerce_events"


@pytest.mark.parametrize("key", sorted(VALID))
def test_valid_payloads_pass_and_extra_fields_are_allowed(key: tuple[str, int]) -> None:
    name, version = key
    assert validate_payload(REGISTRY[name], version, {**VALID[key], "extra_field": [1]}) is None


@pytest.mark.parametrize(
    "key, change",
    [
        (("user_signup", 2), {"country": "XX"}),
        (("user_signup", 2), {"country": None}),
        (("page_view", 1), {"referrer": 3}),
        (("product_view", 1), {"view_duration": -1}),
        (("product_view", 1), {"view_duration": "3"}),
        (("add_to_cart", 1), {"quantity": 0}),
        (("add_to_cart", 1), {"quantity": 1.0}),
        (("add_to_cart", 1), {"quantity": True}),
        (("add_to_cart", 1), {"quantity": 2**63}),
        (("order_placed", 1), {"currency": "eur"}),
        (("order_placed", 1), {"currency": "EURO"}),
        (("order_placed", 1), {"items": []}),
        (("order_placed", 1), {"items": [{"product_id": "p"}]}),
        (("order_placed", 1), {"items": ["p"]}),
        (("order_placed", 1), {"total_amount": -0.01}),
        (("order_placed", 2), {"items": [{"product_id": "p", "quantity": 1}]}),
        (("order_placed", 2), {"total_amount": 25.52}),
    ],
)
def test_invalid_payloads_say_why(key: tuple[str, int], change: dict[str, Any]) -> None:
    name, version = key
    detail = validate_payload(REGISTRY[name], version, {**VALID[key], **change})
    assert detail and "payload." in detail


def test_missing_required_field_is_named() -> None:
    payload = dict(VALID[("login", 1)])
    del payload["user_id"]
    assert validate_payload(REGISTRY["login"], 1, payload) == "payload.user_id is required"


def test_order_total_tolerance_is_one_cent() -> None:
    ok = {**VALID[("order_placed", 2)], "total_amount": 25.51}
    assert validate_payload(REGISTRY["order_placed"], 2, ok) is None


def test_upcast_user_signup_sets_unknown_country() -> None:
    v1 = VALID[("user_signup", 1)]
    assert upcast_user_signup_v1_v2(v1) == {**v1, "country": None}
    assert "country" not in v1  # pure: the input is unchanged


def test_upcast_order_placed_spreads_the_total_over_units() -> None:
    v2 = upcast_order_placed_v1_v2(VALID[("order_placed", 1)])
    assert [i["unit_price"] for i in v2["items"]] == [10.0, 10.0]
    assert sum(i["quantity"] * i["unit_price"] for i in v2["items"]) == 30
    assert validate_payload(REGISTRY["order_placed"], 2, v2) is None


def test_upcast_to_latest_is_identity_at_latest() -> None:
    latest = VALID[("order_placed", 2)]
    assert upcast(REGISTRY["order_placed"], 2, latest) == latest
    assert upcast(REGISTRY["login"], 1, VALID[("login", 1)]) == VALID[("login", 1)]
