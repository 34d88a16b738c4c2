"""What the consumer subscribes to: the settings' topics, or the topics matching a pattern.

A pattern is matched here, with Python's `re.fullmatch` (librdkafka's own regex dialect lacks
much of Python's), against the broker's topics: at start, then every `PATTERN_EVERY_S` seconds
(every second while nothing matches); the consumer re-subscribes when the set changes.
"""

from __future__ import annotations

import logging
import re
import time

from confluent_kafka import Consumer, KafkaException

from ingest.consume.rebalance import Rebalancer

log = logging.getLogger(__name__)

PATTERN_EVERY_S = 30.0
_EMPTY_EVERY_S = 1.0


class Subscription:
    """The consumer's subscription, kept in step with a topic pattern when there is one."""

    def __init__(self, consumer: Consumer, rebalancer: Rebalancer, pattern: str | None) -> None:
        self.consumer, self.rebalancer = consumer, rebalancer
        self.pattern = None if pattern is None else re.compile(pattern)
        self.topics: list[str] = []
        self._checked_at = 0.0

    def subscribe(self, topics: list[str]) -> None:
        """Subscribes to `topics` (none: unsubscribes, waiting for a topic to match)."""
        self.topics, self._checked_at = topics, time.monotonic()
        if topics:
            self.consumer.subscribe(
                topics,
                on_assign=self.rebalancer.on_assign,
                on_revoke=self.rebalancer.on_revoke,
                on_lost=self.rebalancer.on_lost,
            )
        else:
            self.consumer.unsubscribe()

    def follow(self) -> None:
        """Re-subscribes when the topics matching the pattern changed (checked now and then)."""
        every = PATTERN_EVERY_S if self.topics else _EMPTY_EVERY_S
        if self.pattern is None or time.monotonic() - self._checked_at < every:
            return
        self._checked_at = time.monotonic()
        try:
            names = self.consumer.list_topics(timeout=5.0).topics
        except KafkaException as err:
            log.warning("listing topics for %r failed: %s", self.pattern.pattern, err)
            return
        found = sorted(t for t in names if not t.startswith("__") and self.pattern.fullmatch(t))
        if found != self.topics:
            log.info("topics matching %r: %s", self.pattern.pattern, ", ".join(found) or "none")
            self.subscribe(found)
