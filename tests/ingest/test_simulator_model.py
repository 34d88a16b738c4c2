"""The simulator's model and message stream, without a broker: deterministic, valid, realistic."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from eventlake.default_products import PRODUCTS, PRODUCTS_BY_ID, Product, products_frame
from eventlake.envelope import REJECTION_CODES, Event, Rejection, parse
from eventlake.registry import REGISTRY, topic_for
from ingest.simulator import OutMessage, SimulationOptions, messages

NOW_MS = 1_750_000_000_000  # a fixed clock: 2025-06-15T15:06:40Z
DAY_MS = 86_400_000
TOPICS = ("user_events", "commerce_events")
MAX_BYTES = 16 * 1024


def take(options: SimulationOptions, n: int, *, seed: int = 7, topics=TOPICS) -> list[OutMessage]:
    stream = messages(
        options, seed=seed, topics=topics, max_message_bytes=MAX_BYTES, clock=lambda: NOW_MS
    )
    return list(itertools.islice(stream, n))


def parsed(msgs: list[OutMessage]) -> list[Event]:
    events = [parse(m.value, now_ms=NOW_MS, max_bytes=MAX_BYTES) for m in msgs]
    assert all(isinstance(e, Event) for e in events), [
        e for e in events if not isinstance(e, Event)
    ][:3]
    return events  # type: ignore[return-value]


FAULTY = SimulationOptions(days=3, users=200, duplicates=0.05, late=0.05, out_of_order=0.1,
                           malformed=0.05)  # fmt: skip


def test_the_same_seed_gives_the_same_messages_and_another_seed_does_not() -> None:
    first = take(FAULTY, 3000, seed=11)
    again = take(FAULTY, 3000, seed=11)
    other = take(FAULTY, 3000, seed=12)
    assert [(m.topic, m.key, m.value) for m in first] == [(m.topic, m.key, m.value) for m in again]
    assert [m.value for m in first] != [m.value for m in other]


def test_every_registered_type_and_version_appears_and_passes_validation() -> None:
    msgs = take(SimulationOptions(days=2, users=300), 6000)
    events = parsed(msgs)
    seen = Counter((e.event_type, e.schema_version) for e in events)
    expected = {(name, v) for name, kind in REGISTRY.items() for v in kind.versions}
    assert set(seen) == expected
    assert all(e.registered for e in events)
    for msg, event in zip(msgs, events, strict=True):
        # key = aggregate = user; topic = the registry's default topic
        assert msg.key == event.aggregate_id.encode() == event.payload["user_id"].encode()
        assert msg.topic == REGISTRY[event.event_type].topic == topic_for(msg.event_type, TOPICS)
        assert msg.event_type == event.event_type


def test_live_traffic_is_stamped_with_the_clock_and_starts_in_full_swing() -> None:
    ticks = itertools.count(NOW_MS, 7)  # a clock that moves 7 ms per reading
    stream = messages(SimulationOptions(rate=50), seed=3, topics=TOPICS, max_message_bytes=MAX_BYTES,
                      clock=lambda: next(ticks))  # fmt: skip
    events = parsed(list(itertools.islice(stream, 4000)))
    times = [e.event_time_us // 1000 for e in events]
    assert times == sorted(times) and NOW_MS <= times[0] < times[-1] < NOW_MS + 4001 * 7
    # sessions were already under way: orders and logouts come from the start, not after minutes
    assert {e.event_type for e in events[:2000]} == set(REGISTRY)


def test_orders_add_up_in_several_currencies_from_the_catalog() -> None:
    events = parsed(take(SimulationOptions(days=5, users=300), 20_000))
    orders = [e for e in events if e.event_type == "order_placed"]
    assert {o.payload["currency"] for o in orders} == {"EUR", "USD", "GBP"}
    v2 = [o for o in orders if o.schema_version == 2]
    assert v2 and len(v2) < len(orders)
    for order in v2:
        total = sum(i["quantity"] * i["unit_price"] for i in order.payload["items"])
        assert order.payload["total_amount"] == pytest.approx(total, abs=0.01)
    for order in orders:
        assert all(i["product_id"] in PRODUCTS_BY_ID for i in order.payload["items"])
        if order.schema_version == 1:
            assert all("unit_price" not in i for i in order.payload["items"])
    assert len({o.payload["order_id"] for o in orders}) == len(orders)


def test_traffic_looks_like_a_shop() -> None:
    events = parsed(take(SimulationOptions(count=30_000, days=7, users=300), 30_000))
    kinds = Counter(e.event_type for e in events)
    assert kinds["page_view"] > kinds["product_view"] > kinds["add_to_cart"] > kinds["order_placed"]
    assert 0.03 < kinds["add_to_cart"] / kinds["product_view"] < 0.3  # view to cart
    assert 0.2 < kinds["order_placed"] / kinds["add_to_cart"] < 0.9  # cart to order
    buyers = Counter(e.payload["user_id"] for e in events if e.event_type == "order_placed")
    assert sum(1 for n in buyers.values() if n > 1) > 10  # repeat buyers
    signups = [e for e in events if e.event_type == "user_signup"]
    assert {s.payload["plan"] for s in signups} >= {"free", "pro"}
    assert len({s.payload["country"] for s in signups if s.schema_version == 2}) > 3
    sessions = [e.metadata.get("session_id") if e.metadata else None for e in events]
    assert 0.5 < sum(s is not None for s in sessions) / len(events) < 0.99  # some without
    page_views = [e for e in events if e.event_type == "page_view"]
    assert all(p.payload["url"].startswith("https://") for p in page_views)
    assert any("referrer" in p.payload for p in page_views)
    views = [e.payload["view_duration"] for e in events if e.event_type == "product_view"]
    assert min(views) >= 0 and max(views) > 60
    # event times spread over the 7 days that end now, busier by day than by night
    times = [e.event_time_us // 1000 for e in events]
    assert NOW_MS - 7 * DAY_MS - 60_000 <= min(times) < NOW_MS - 6 * DAY_MS
    assert max(times) <= NOW_MS
    per_day = Counter((NOW_MS - t) // DAY_MS for t in times)
    assert len(per_day) == 7 and min(per_day.values()) > 0.5 * max(per_day.values())


def test_malformed_messages_earn_every_rejection_code() -> None:
    msgs = take(SimulationOptions(days=1, malformed=0.3), 3000)
    bad = [m for m in msgs if m.rejection is not None]
    assert {m.event_type for m in bad} == {None}
    codes = Counter()
    for m in bad:
        result = parse(m.value, now_ms=NOW_MS, max_bytes=MAX_BYTES)
        assert isinstance(result, Rejection) and result.code == m.rejection, (m, result)
        codes[result.code] += 1
    assert set(codes) == set(REJECTION_CODES)
    not_json = [m.value for m in bad if m.rejection == "not_json"]
    assert b"" in not_json
    assert any(_not_utf8(v) for v in not_json)
    assert all(len(m.value) > MAX_BYTES for m in bad if m.rejection == "too_large")
    # the other messages are untouched
    parsed([m for m in msgs if m.rejection is None])


def _not_utf8(value: bytes) -> bool:
    try:
        value.decode()
    except UnicodeDecodeError:
        return True
    return False


def test_duplicates_late_and_out_of_order_messages() -> None:
    msgs = take(FAULTY, 5000)
    good = [m for m in msgs if m.rejection is None]
    events = parsed(good)
    copies = Counter(e.event_id for e in events)
    duplicated = {e.event_id for m, e in zip(good, events, strict=True) if m.duplicate}
    assert len(duplicated) > 100
    assert {i for i, n in copies.items() if n > 1} == duplicated  # only duplicates repeat an id
    assert set(copies[i] for i in duplicated) == {2}
    by_id = {}
    for m in good:  # a duplicate is the same message, byte for byte
        assert by_id.setdefault(parse(m.value, now_ms=NOW_MS).event_id, m.value) == m.value
    late = [e.event_time_us // 1000 for m, e in zip(good, events, strict=True) if m.late]
    assert len(late) > 100
    assert all(NOW_MS - 34 * DAY_MS < t < NOW_MS - DAY_MS + 3 * 60_000 for t in late)
    assert min(late) < NOW_MS - 3 * DAY_MS - 10 * DAY_MS  # some are weeks late
    reordered = [i for i, m in enumerate(good) if m.reordered]
    assert len(reordered) > 200
    times = [e.event_time_us for m, e in zip(good, events, strict=True) if not m.late]
    assert sum(a > b for a, b in itertools.pairwise(times)) > 100  # the stream is not sorted


def test_options_are_validated() -> None:
    for bad in ({"count": -1}, {"rate": -5}, {"users": 0}, {"late": 1.5}, {"malformed": -0.1}):
        with pytest.raises(ValueError):
            SimulationOptions(**bad)


def test_custom_topics_keep_users_apart_from_commerce() -> None:
    msgs = take(SimulationOptions(days=1), 500, topics=("a", "b"))
    by_topic = {m.topic: REGISTRY[m.event_type].topic for m in msgs}
    assert by_topic == {"a": "user_events", "b": "commerce_events"}
    assert {m.topic for m in take(SimulationOptions(days=1), 200, topics=("only",))} == {"only"}


def test_the_product_catalog_is_fixed_and_complete() -> None:
    frame = products_frame()
    assert (
        frame.height == len(PRODUCTS) == frame["product_id"].n_unique() == frame["name"].n_unique()
    )
    assert frame["category"].n_unique() >= 5 and frame["price"].min() > 0
    assert set(frame["currency"]) == {"EUR"}
    # a dimension must not change between processes or releases: pin some values
    assert PRODUCTS[0] == Product("P0001", "Umbra Webcam", "electronics", 40.99, "EUR")
    assert PRODUCTS_BY_ID["P0168"] == PRODUCTS[-1]
