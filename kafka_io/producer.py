"""Sending events to Kafka safely: an idempotent producer whose deliveries are never lost from view.

    from kafka_io import outgoing
    from kafka_io.producer import EventProducer

    with EventProducer(settings) as producer:            # flushes on exit
        producer.send(outgoing.login("u42"))
        results = producer.send_all([...], timeout=10)   # waits: a Delivery or an error each

Every message is acknowledged by all in-sync replicas (`acks=all`) and sent idempotently, so a
retry never writes a second copy; the settings cannot turn either off. A message goes to its
type's topic (`eventlake.registry.topic_for`), keyed by its aggregate id. A failed delivery is
never silent: `flush` (and leaving the `with` block) raises `DeliveryFailed` naming them, and
`send_all` returns each message's outcome. See docs/producer.md.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from eventlake.registry import topic_for
from eventlake.settings import Settings
from kafka_io.config import client_config, new_client
from kafka_io.outgoing import OutgoingEvent
from telemetry import tracing

DEFAULTS: Mapping[str, Any] = {"linger.ms": 5}
SAFETY: Mapping[str, Any] = {"acks": "all", "enable.idempotence": True}  # never overridden


@dataclass(frozen=True)
class Delivery:
    """Where Kafka stored a message."""

    topic: str
    partition: int
    offset: int


OnDelivery = Callable[[Delivery | None, str | None], None]
"""Called once per message from `poll`/`flush`: (where it was stored, None) or (None, why not)."""


class DeliveryFailed(RuntimeError):
    """Messages Kafka did not acknowledge: `failures` holds one line per message."""

    def __init__(self, failures: Sequence[str]) -> None:
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        super().__init__(f"{len(failures)} messages were not delivered: {failures[0]}{more}")
        self.failures = list(failures)


class EventProducer:
    """An idempotent Kafka producer for events; one per process is enough (it is thread-safe)."""

    def __init__(self, settings: Settings, *, config: Mapping[str, Any] | None = None) -> None:
        """Args:
        config: librdkafka settings on top of `DEFAULTS` (e.g. a longer linger); acks and
            idempotence stay as `SAFETY` sets them.

        Raises:
            ConfigError: EVENTLAKE_KAFKA_CONFIG or `config` holds what librdkafka refuses.
        """
        defaults = {**DEFAULTS, **(config or {})}
        self._producer = new_client(Producer, client_config(settings, defaults, fixed=SAFETY))
        self._topics = tuple(settings.topics)
        self._failures: list[str] = []
        self._lock = threading.Lock()

    def send(self, event: OutgoingEvent, on_delivery: OnDelivery | None = None) -> None:
        """Queues `event` for its topic (returns at once; the outcome comes to `on_delivery`,
        and a failure is also kept for `flush`). With tracing on, a producer span is recorded
        and its context sent in the message's `traceparent` header."""
        topic = topic_for(event.event_type, self._topics)
        if not tracing.is_on():
            self.send_message(topic, event.key, event.value, on_delivery)
            return
        attributes = {
            "messaging.system": "kafka",
            "messaging.destination.name": topic,
            "eventlake.event_type": event.event_type,
            "eventlake.event_id": event.event_id,
        }
        with tracing.span("eventlake produce", attributes, kind=tracing.trace.SpanKind.PRODUCER):
            self.send_message(topic, event.key, event.value, on_delivery)

    def send_message(
        self, topic: str, key: bytes | None, value: bytes, on_delivery: OnDelivery | None = None
    ) -> None:
        """Queues an already-encoded message (for tools that replay or exercise the wire
        format; services use `send`), with the current trace context in its headers."""
        headers: list[tuple[str, str | bytes | None]] | None = list(tracing.headers()) or None

        def delivered(err: KafkaError | None, msg: Message) -> None:
            if err is not None:
                why = f"{msg.topic()}: {err.str()}"
                with self._lock:
                    self._failures.append(why)
                if on_delivery is not None:
                    on_delivery(None, why)
            elif on_delivery is not None:
                on_delivery(
                    Delivery(msg.topic() or topic, msg.partition() or 0, msg.offset() or 0), None
                )

        while True:
            try:
                self._producer.produce(topic, value, key, on_delivery=delivered, headers=headers)
                return
            except BufferError:  # the local queue is full: let librdkafka send some first
                self._producer.poll(0.05)

    def send_all(
        self, events: Sequence[OutgoingEvent], *, timeout: float = 30.0
    ) -> list[Delivery | str]:
        """Sends `events` and waits: for each, where Kafka stored it, or why it was not stored
        (including not acknowledged within `timeout` seconds)."""
        results: list[Delivery | str] = ["not acknowledged in time"] * len(events)

        def keep(i: int) -> OnDelivery:
            def done(delivery: Delivery | None, error: str | None) -> None:
                results[i] = delivery if delivery is not None else str(error)

            return done

        for i, event in enumerate(events):
            self.send(event, keep(i))
        self._producer.flush(timeout)
        with self._lock:  # reported in `results`: not again by `flush`
            self._failures.clear()
        return results

    def poll(self, timeout: float = 0.0) -> None:
        """Serves delivery reports (call now and then when sending continuously)."""
        self._producer.poll(timeout)

    def flush(self, timeout: float = 30.0) -> None:
        """Waits until every queued message is acknowledged.

        Raises:
            DeliveryFailed: some were not (each failure is reported once).
        """
        remaining = self._producer.flush(timeout)
        with self._lock:
            failures, self._failures = self._failures, []
        if remaining:
            failures.append(f"{remaining} still unacknowledged after {timeout:g} s")
        if failures:
            raise DeliveryFailed(failures)

    def __enter__(self) -> EventProducer:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.flush()
