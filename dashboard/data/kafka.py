"""Kafka's end offsets, for the lag per partition on the Pipeline health page. No Streamlit.

The ends are read by `kafka_io/end_offsets.py`, as the ingester's tools read them. A TCP
connect with a short timeout first makes an unreachable broker cost milliseconds, not the
client's retries.
"""

from __future__ import annotations

import socket

from confluent_kafka import Consumer, KafkaException

from dashboard.data.scope import PartitionKey, Scope
from eventlake.errors import BrokerUnavailable
from eventlake.settings import Settings
from kafka_io.end_offsets import READER_CONFIG, READER_FIXED, read_end_offsets

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
                **READER_CONFIG,
                **settings.kafka_config,
                "group.id": "eventlake-dashboard",  # never joins: assign() only
                **READER_FIXED,
            }
        )
    except (KafkaException, TypeError, ValueError) as err:  # a bad EVENTLAKE_KAFKA_CONFIG
        raise BrokerUnavailable(f"Kafka client settings rejected: {err}") from err
    try:
        where = f"Kafka at {settings.kafka_bootstrap}"
        return read_end_offsets(consumer, keys, timeout=timeout, where=where)
    finally:
        consumer.close()


def lag(bronze_offset: int | None, end: int | None) -> int | None:
    """Returns the messages in Kafka not yet in bronze (None when the end is unknown)."""
    if end is None:
        return None
    return max(0, end - (-1 if bronze_offset is None else bronze_offset) - 1)
