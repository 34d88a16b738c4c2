"""Kafka's end offsets, for the lag per partition on the Pipeline health page. No Streamlit.

The dashboard may import `eventlake` only, so this is its own small reader: a consumer that
never joins a group, assigns itself one message before each partition's end and reads the
fetch's high watermark. ListOffsets(latest) alone is wrong on the bundled broker once batches
hold several messages (docs/deploy-kafka.md); the watermark a fetch returns is right. A TCP connect with
a short timeout first makes an unreachable broker cost milliseconds, not the client's retries.
"""

from __future__ import annotations

import socket
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from dashboard.data.scope import PartitionKey, Scope
from eventlake.errors import BrokerUnavailable
from eventlake.settings import Settings

CONNECT_TIMEOUT_S = 0.3
END_OFFSETS_TIMEOUT_S = 2.0  # for the whole answer: the watermarks and one fetch per partition


def reachable(bootstrap: str, timeout: float = CONNECT_TIMEOUT_S) -> bool:
    """True when a TCP connection to the first bootstrap server opens within `timeout`."""
    entry = bootstrap.split(",")[0].strip().split("://")[-1]
    host, _, port = entry.rpartition(":")
    if not host or not port.isdigit():
        return False
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            return True
    except OSError:
        return False


def end_offsets(settings: Settings, scope: Scope) -> dict[PartitionKey, int]:
    """Returns the end offset (the next message's offset) of each of the scope's partitions, now.

    Raises:
        BrokerUnavailable: the broker is unreachable or did not answer within
            `END_OFFSETS_TIMEOUT_S`.
    """
    keys = list(dict.fromkeys(scope.partitions))
    timeout = END_OFFSETS_TIMEOUT_S
    if not keys:
        return {}
    if not reachable(settings.kafka_bootstrap):
        raise BrokerUnavailable(f"Kafka at {settings.kafka_bootstrap} is unreachable")
    try:
        consumer = Consumer(
            {
                "bootstrap.servers": settings.kafka_bootstrap,
                "fetch.wait.max.ms": 10,
                "max.partition.fetch.bytes": 1,
                **settings.kafka_config,
                "group.id": "eventlake-dashboard",  # never joins: assign() only
                "enable.auto.commit": False,
                "enable.partition.eof": True,
            }
        )
    except (KafkaException, TypeError, ValueError) as err:  # a bad EVENTLAKE_KAFKA_CONFIG
        raise BrokerUnavailable(f"Kafka client settings rejected: {err}") from err
    try:
        return _ends(consumer, keys, timeout)
    except KafkaException as err:
        raise BrokerUnavailable(f"Kafka at {settings.kafka_bootstrap}: {err}") from err
    finally:
        consumer.close()


def _ends(consumer: Consumer, keys: list[PartitionKey], timeout: float) -> dict[PartitionKey, int]:
    start = []
    for topic, partition in keys:
        low, high = consumer.get_watermark_offsets(
            TopicPartition(topic, partition), timeout=timeout
        )
        start.append(TopicPartition(topic, partition, max(low, high - 1)))
    consumer.assign(start)
    ends: dict[PartitionKey, int] = {}
    deadline = time.monotonic() + timeout
    while len(ends) < len(keys):
        if time.monotonic() > deadline:
            raise BrokerUnavailable(f"no fetch response within {timeout:g} s")
        for msg in consumer.consume(len(keys), 0.1):
            err = msg.error()
            if err is not None and err.code() != KafkaError._PARTITION_EOF:
                raise BrokerUnavailable(f"fetch failed: {err.str()}")
            key = (str(msg.topic()), int(msg.partition() or 0))
            if key not in ends:
                ends[key] = consumer.get_watermark_offsets(TopicPartition(*key), cached=True)[1]
    return ends


def lag(bronze_offset: int | None, end: int | None) -> int | None:
    """Returns the messages in Kafka not yet in bronze (None when the end is unknown)."""
    if end is None:
        return None
    return max(0, end - (-1 if bronze_offset is None else bronze_offset) - 1)
