"""Consumer lag: messages in Kafka beyond a position, from the watermarks of the last fetch.

The broker's uncached high watermark is wrong once batches hold several messages
(docs/deploy-kafka.md, "What the client code relies on");
the one cached from fetch responses is right, and costs no request.
"""

from __future__ import annotations

from collections.abc import Mapping

from confluent_kafka import Consumer, TopicPartition

from ingest.kafka.cluster import TopicPartitionKey
from ingest.observe.metrics import IngestMetrics

GAUGES_EVERY_S = 1.0


def _high(consumer: Consumer, key: TopicPartitionKey) -> int:
    _, high = consumer.get_watermark_offsets(TopicPartition(*key), cached=True)
    return int(high)


def behind(consumer: Consumer, positions: Mapping[TopicPartitionKey, int]) -> int | None:
    """Returns the messages in Kafka after `positions` (last offsets), summed; None: unknown."""
    total = 0
    for key, position in list(positions.items()):
        high = _high(consumer, key)
        if high < 0:
            return None  # not fetched yet
        total += max(0, high - position - 1)
    return total


def publish(
    consumer: Consumer, of_record: Mapping[TopicPartitionKey, int], metrics: IngestMetrics
) -> None:
    """Sets the lag and committed-offset gauges of every assigned partition."""
    for (topic, partition), last in list(of_record.items()):
        high = _high(consumer, (topic, partition))
        if high >= 0:
            metrics.lag.labels(topic, str(partition)).set(max(0, high - last - 1))
        metrics.committed_offset.labels(topic, str(partition)).set(last)
