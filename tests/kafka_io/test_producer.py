"""The producer library: events built by the typed helpers pass the ingester's rules, and the
producer delivers them, keyed and in order, to the real broker, or says they were not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from confluent_kafka import Consumer
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from eventlake.envelope import Event, parse
from eventlake.registry import REGISTRY, topic_for
from eventlake.settings import Settings
from ingest.kafka import cluster
from kafka_io import outgoing
from kafka_io.outgoing import InvalidEvent, OrderItem
from kafka_io.producer import Delivery, DeliveryFailed, EventProducer
from telemetry import tracing

NOW = datetime.now(UTC)
ONE_OF_EACH = {
    "user_signup": lambda: outgoing.user_signup(
        "u1", signup_source="ads", plan="pro", country="DE", email="a@b.c"
    ),
    "login": lambda: outgoing.login("u1", ip="10.0.0.1"),
    "logout": lambda: outgoing.logout("u1", at=NOW - timedelta(days=3)),
    "page_view": lambda: outgoing.page_view("u1", url="/pricing", metadata={"session_id": "s1"}),
    "product_view": lambda: outgoing.product_view("u1", product_id="P1", view_duration=2.5),
    "add_to_cart": lambda: outgoing.add_to_cart("u1", product_id="P1", quantity=2),
    "order_placed": lambda: outgoing.order_placed(
        "u1", order_id="o1", currency="EUR", items=[OrderItem("P1", 2, 9.99), OrderItem("P2", 1, 5)]
    ),
}


def test_every_registered_type_has_a_typed_helper_at_its_latest_version() -> None:
    assert set(outgoing.HELPERS) == set(REGISTRY) == set(ONE_OF_EACH)
    for event_type, make in ONE_OF_EACH.items():
        event = make()
        found = parse(event.value, now_ms=int(NOW.timestamp() * 1000) + 1000)
        assert isinstance(found, Event), found
        assert (found.event_type, found.registered) == (event_type, True)
        assert found.schema_version == REGISTRY[event_type].latest_version
        assert event.key == b"u1" and found.event_id == event.event_id


def test_the_envelope_is_filled_in() -> None:
    at = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    event = outgoing.order_placed(
        "u7", order_id="o9", currency="USD", items=[OrderItem("P3", 3, 1.1)], at=at,
        event_id="e-1", metadata={"session_id": "s9"},
    )  # fmt: skip
    found = parse(event.value, now_ms=int(NOW.timestamp() * 1000))
    assert isinstance(found, Event)
    assert found.event_id == "e-1" and found.aggregate_id == "u7"
    assert found.event_time_us == int(at.timestamp() * 1_000_000)
    assert found.payload["total_amount"] == 3.3 and found.metadata == {"session_id": "s9"}
    first = outgoing.logout("u1")
    assert first.event_id != outgoing.logout("u1").event_id  # a fresh UUID per event


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda: outgoing.add_to_cart("u1", product_id="P1", quantity=0), "payload_invalid"),
        (lambda: outgoing.order_placed("u1", order_id="o", currency="XXX", items=[]),
         "payload_invalid"),
        (lambda: outgoing.order_placed("u1", order_id="o", currency="EUR",
                                       items=[OrderItem("P", 1, 2.0)], total_amount=9.0),
         "payload_invalid"),
        (lambda: outgoing.build("coupon_applied", {"user_id": "u1"}), "unregistered_type"),
        (lambda: outgoing.build("order_placed", {"user_id": "u1"}, version=3),
         "unknown_schema_version"),
        (lambda: outgoing.logout("u1", at=datetime(2026, 1, 1)), "invalid_field"),
        (lambda: outgoing.logout("u1", at=NOW + timedelta(days=2)), "timestamp_out_of_range"),
        (lambda: outgoing.page_view("u1", url="/" + "x" * 2000, max_bytes=1000), "too_large"),
    ],
)  # fmt: skip
def test_what_the_ingester_would_reject_is_refused_with_its_code(make, code: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidEvent) as refused:
        make()
    assert refused.value.code == code


def test_an_older_version_can_still_be_built() -> None:
    v1 = {"user_id": "u1", "order_id": "o1", "total_amount": 10.0, "currency": "EUR",
          "items": [{"product_id": "P1", "quantity": 2}]}  # fmt: skip
    found = parse(outgoing.build("order_placed", v1, version=1).value, now_ms=10**13)
    assert isinstance(found, Event) and found.schema_version == 1


def test_events_reach_their_topics_keyed_and_in_order(kafka_settings: Settings) -> None:
    events = [outgoing.page_view("u-order", url=f"/{i}") for i in range(50)]
    events.append(outgoing.add_to_cart("u-order", product_id="P1", quantity=1))
    with EventProducer(kafka_settings) as producer:
        results = producer.send_all(events, timeout=30)

    assert all(isinstance(r, Delivery) for r in results)
    deliveries = [r for r in results if isinstance(r, Delivery)]
    topics = [topic_for(e.event_type, kafka_settings.topics) for e in events]
    assert [d.topic for d in deliveries] == topics
    users = [d for d in deliveries if d.topic == kafka_settings.topics[0]]
    assert len({d.partition for d in users}) == 1  # one key, one partition
    assert [d.offset for d in users] == sorted(d.offset for d in users)
    stored = read_back(kafka_settings, kafka_settings.topics[0], len(users))
    assert stored == [(e.key, e.value) for e in events[:50]]


def test_a_delivery_that_fails_is_reported_not_lost(kafka_settings: Settings) -> None:
    unreachable = Settings.from_env(env={}, kafka_bootstrap="127.0.0.1:9", topics=("t",))
    producer = EventProducer(unreachable, config={"message.timeout.ms": 1500})
    results = producer.send_all([outgoing.logout("u1")], timeout=5)
    assert isinstance(results[0], str) and "t" in results[0]

    producer.send(outgoing.logout("u2"))
    with pytest.raises(DeliveryFailed) as failed:
        producer.flush(5)
    assert len(failed.value.failures) == 1


def read_back(settings: Settings, topic: str, n: int) -> list[tuple[bytes | None, bytes | None]]:
    """Returns the (key, value) of the first `n` messages of `topic`, in partition order."""
    consumer = Consumer(cluster.client_config(settings, {
        "group.id": f"{settings.group_id}-read", "auto.offset.reset": "earliest",
    }))  # fmt: skip
    consumer.subscribe([topic])
    found: list[tuple[bytes | None, bytes | None]] = []
    deadline = datetime.now(UTC) + timedelta(seconds=30)
    while len(found) < n and datetime.now(UTC) < deadline:
        msg = consumer.poll(0.5)
        if msg is not None and msg.error() is None:
            found.append((msg.key(), msg.value()))
    consumer.close()
    return found


def test_with_tracing_on_the_trace_context_travels_in_the_headers(
    kafka_settings: Settings, traces: InMemorySpanExporter
) -> None:
    event = outgoing.login("u-traced")
    with tracing.span("checkout") as parent, EventProducer(kafka_settings) as producer:
        producer.send(event)
    assert parent is not None
    (produced,) = [s for s in traces.get_finished_spans() if s.name == "eventlake produce"]
    trace_id = parent.get_span_context().trace_id
    assert produced.context.trace_id == trace_id and produced.parent is not None
    assert produced.attributes["eventlake.event_id"] == event.event_id
    assert produced.attributes["messaging.destination.name"] == kafka_settings.topics[0]

    consumer = Consumer(cluster.client_config(kafka_settings, {
        "group.id": f"{kafka_settings.group_id}-trace", "auto.offset.reset": "earliest",
    }))  # fmt: skip
    consumer.subscribe([kafka_settings.topics[0]])
    msg = None
    deadline = datetime.now(UTC) + timedelta(seconds=30)
    while msg is None and datetime.now(UTC) < deadline:
        found = consumer.poll(0.5)
        msg = found if found is not None and found.error() is None else None
    consumer.close()
    assert msg is not None
    carried = tracing.context_of(msg.headers())
    assert carried is not None
    span_context = tracing.trace.get_current_span(carried).get_span_context()
    assert span_context.trace_id == trace_id
    assert span_context.span_id == produced.context.span_id


def test_with_tracing_off_nothing_is_added(kafka_settings: Settings) -> None:
    assert not tracing.is_on()
    assert tracing.headers() == [] and tracing.current_ids() is None
    with tracing.span("anything") as current:
        assert current is None
