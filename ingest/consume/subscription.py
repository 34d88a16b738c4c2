"""What the consumer subscribes to: the settings' topics, or the topics matching a pattern.

The ingester subscribes first thing, before its heavy modules load and its writer opens the
lake: the group join (half the session timeout on the bundled broker, docs/deploy-kafka.md)
runs meanwhile. The rebalance callbacks run only inside `consume()` and `close()`; the loop binds
its `Rebalancer` before its first `consume()`.

A pattern is matched here, with Python's `re.fullmatch` (librdkafka's own regex dialect lacks
much of Python's), against the broker's topics: at start, then every `PATTERN_EVERY_S` seconds
(every second while nothing matches); the consumer re-subscribes when the set changes.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from typing import TYPE_CHECKING

from confluent_kafka import Consumer, KafkaException, TopicPartition

if TYPE_CHECKING:  # the rebalancer brings the lake's modules, which load after the subscription
    from ingest.consume.rebalance import Rebalancer

log = logging.getLogger(__name__)

# close() can still block, on an unreachable broker (docs/deploy-kafka.md, "What the client code
# relies on"); bronze holds the offsets of record, so a consumer that does not leave in time is
# left to the broker's session timeout.
_LEAVE_GROUP_S = 10.0
PATTERN_EVERY_S = 30.0
_EMPTY_EVERY_S = 1.0


class Subscription:
    """The consumer's subscription, kept in step with a topic pattern when there is one."""

    def __init__(self, consumer: Consumer, pattern: str | None, *, incremental: bool) -> None:
        self.consumer, self.incremental = consumer, incremental
        self.rebalancer: Rebalancer | None = None  # bound by the loop before it consumes
        self.pattern = None if pattern is None else re.compile(pattern)
        self.topics: list[str] = []
        self._checked_at = 0.0

    def subscribe(self, topics: list[str]) -> None:
        """Subscribes to `topics` (none: unsubscribes, waiting for a topic to match)."""
        self.topics, self._checked_at = topics, time.monotonic()
        if topics:
            self.consumer.subscribe(
                topics,
                on_assign=self._assigned,
                on_revoke=self._revoked,
                on_lost=self._lost,
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

    def leave(self) -> None:
        """Closes the consumer, which leaves the group: the others take the partitions at once."""
        closer = threading.Thread(target=self.consumer.close, name="leave-group", daemon=True)
        closer.start()
        closer.join(_LEAVE_GROUP_S)
        if closer.is_alive():
            log.warning(
                "leaving the consumer group did not finish within %.0f s: the broker drops this "
                "member after its session timeout (bronze is unaffected)",
                _LEAVE_GROUP_S,
            )

    def _assigned(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        if self.rebalancer is not None:
            self.rebalancer.on_assign(consumer, partitions)
        elif self.incremental:  # closing before the loop existed: take nothing, explicitly
            consumer.incremental_assign([])
        else:
            consumer.assign([])

    def _revoked(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        if self.rebalancer is not None:
            self.rebalancer.on_revoke(consumer, partitions)
        else:
            self._unassign(consumer, partitions)

    def _lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        if self.rebalancer is not None:
            self.rebalancer.on_lost(consumer, partitions)
        else:
            self._unassign(consumer, partitions)

    def _unassign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Gives up partitions never used, explicitly, as `Rebalancer` does: left to the client,
        close() asks librdkafka for the rebalance protocol and can block (docs/deploy-kafka.md)."""
        if self.incremental:
            consumer.incremental_unassign(partitions)
        else:
            consumer.unassign()
