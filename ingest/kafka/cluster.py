"""Talking to any Kafka (the bundled broker or a remote cluster): topic metadata, topic ids and
true end offsets.

Every client gets its config from `client_config` (`kafka_io.config`, re-exported here):
the local defaults first, then `settings.kafka_config` (EVENTLAKE_KAFKA_CONFIG) on top, so
SASL/TLS and tuning pass through unchanged.
"""

from __future__ import annotations

import logging
import re
import socket
import time
from collections.abc import Iterable, Mapping

from confluent_kafka import (
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicCollection,
)
from confluent_kafka.admin import AdminClient

from eventlake.errors import BrokerUnavailable
from eventlake.settings import Settings
from kafka_io.config import (  # re-exported
    ConnectErrors,
    client_config,
    new_client,
    scrub,
)
from kafka_io.end_offsets import READER_CONFIG, READER_FIXED, read_end_offsets

TopicPartitionKey = tuple[str, int]
"""(topic, partition): how eventlake names one Kafka partition."""

log = logging.getLogger(__name__)
_PROBE_TIMEOUT_S = 2.0
_METADATA_TRY_S = 1.0  # between two looks at why the metadata request got no answer
_TRANSIENT = frozenset(
    {
        KafkaError._TRANSPORT,
        KafkaError._ALL_BROKERS_DOWN,
        KafkaError._TIMED_OUT,
        KafkaError._MSG_TIMED_OUT,
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.LEADER_NOT_AVAILABLE,
    }
)


def position(msg: Message) -> tuple[str, int, int]:
    """Returns (topic, partition, offset) of a consumed or delivered message.

    Raises:
        BrokerUnavailable: the message lacks them (only error events do).
    """
    topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
    if topic is None or partition is None or offset is None:
        raise BrokerUnavailable(f"Kafka sent a message without a position: {msg.error()}")
    return topic, partition, offset


def raise_unless_transient(err: KafkaError, *, doing: str) -> None:
    """Returns (after logging a warning) when librdkafka will retry past `err` by itself.

    Raises:
        BrokerUnavailable: the error is fatal or not retriable, e.g. an unknown topic.
    """
    if err.fatal() or not (err.retriable() or err.code() in _TRANSIENT):
        raise BrokerUnavailable(f"{doing} failed: {err.str()}")
    log.warning("%s: %s (librdkafka retries)", doing, err.str())


def bootstrap_addresses(bootstrap: str) -> list[tuple[str, int]]:
    """Returns the (host, port) pairs of a bootstrap string such as `h1:9092,h2:9092`.

    Raises:
        BrokerUnavailable: an entry is not of the form HOST:PORT.
    """
    addresses = []
    for entry in bootstrap.split(","):
        entry = entry.strip().split("://")[-1]
        host, sep, port = entry.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise BrokerUnavailable(f"bootstrap server {entry!r} is not of the form HOST:PORT")
        addresses.append((host.strip("[]"), int(port)))
    return addresses


def port_open(host: str, port: int, *, timeout: float = 0.5) -> bool:
    """Returns True when a TCP connection to host:port succeeds within `timeout`."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require_reachable(settings: Settings) -> None:
    """Returns when some bootstrap server accepts TCP connections.

    Raises:
        BrokerUnavailable: none does (checked quickly, so the CLI can say so in one line).
    """
    addresses = bootstrap_addresses(settings.kafka_bootstrap)
    if not any(port_open(h, p, timeout=_PROBE_TIMEOUT_S) for h, p in addresses):
        raise BrokerUnavailable(
            f"cannot reach Kafka at {settings.kafka_bootstrap}: connection refused or timed out "
            "(local stack: run `eventlake broker start`)"
        )


def list_topics(settings: Settings, *, timeout: float = 10.0) -> dict[str, int]:
    """Returns every topic on the broker with its partition count (internal topics excluded).

    Asks for all topics, never for one by name: some brokers auto-create a topic named in a
    metadata request.

    Raises:
        BrokerUnavailable: the broker is unreachable, refused our credentials or certificate
            (at once, without waiting out `timeout`), or did not answer within `timeout`.
        ConfigError: EVENTLAKE_KAFKA_CONFIG is not a config librdkafka takes.
    """
    errors = ConnectErrors()
    config = client_config(settings, fixed={"error_cb": errors, "logger": errors})
    admin = new_client(AdminClient, config)  # first: a bad config is the error to tell
    require_reachable(settings)
    deadline = time.monotonic() + timeout
    while True:
        try:
            metadata = admin.list_topics(timeout=_remaining(deadline, _METADATA_TRY_S))
            break
        except KafkaException as err:
            admin.poll(_remaining(deadline, 0.1))  # serves `errors`; paces a quick failure
            if errors.refused is not None:  # wrong credentials or certificate: say so now
                raise BrokerUnavailable(
                    f"Kafka at {settings.kafka_bootstrap} refused the connection: "
                    f"{scrub(errors.refused, config)} (check security.protocol, ssl.* and "
                    "sasl.* in EVENTLAKE_KAFKA_CONFIG)"
                ) from None
            if time.monotonic() >= deadline:
                reason = errors.reason() or (err.args[0].str() if err.args else str(err))
                raise BrokerUnavailable(
                    f"Kafka at {settings.kafka_bootstrap} did not answer a metadata request "
                    f"within {timeout:g} s: {scrub(reason, config)}"
                ) from None
    return {
        name: len(topic.partitions)
        for name, topic in metadata.topics.items()
        if not name.startswith("__") and topic.error is None
    }


def _remaining(deadline: float, at_most: float) -> float:
    return max(0.01, min(at_most, deadline - time.monotonic()))


def require_topics(settings: Settings, topics: Iterable[str]) -> dict[str, int]:
    """Returns the partition count of each of `topics`.

    Raises:
        BrokerUnavailable: the broker is unreachable, or some of the topics do not exist.
    """
    wanted = list(topics)
    existing = list_topics(settings)
    missing = [t for t in wanted if t not in existing]
    if missing:
        raise BrokerUnavailable(
            f"topic(s) {', '.join(missing)} do not exist on Kafka at {settings.kafka_bootstrap} "
            "(local stack: `eventlake broker start` creates the default topics)"
        )
    return {t: existing[t] for t in wanted}


def matching_topics(settings: Settings, pattern: str) -> dict[str, int]:
    """Returns the partition count of every topic whose whole name matches `pattern`.

    Raises:
        BrokerUnavailable: the broker is unreachable or the request fails.
    """
    regex = re.compile(pattern)
    return {t: n for t, n in list_topics(settings).items() if regex.fullmatch(t)}


def topic_ids(
    settings: Settings, topics: Iterable[str], *, timeout: float = 10.0
) -> dict[str, str | None]:
    """Returns the Kafka topic id of each topic, or None where the broker does not tell one.

    Topic ids (KIP-516) tell a topic from one deleted and created again under the same name.
    """
    wanted = list(dict.fromkeys(topics))
    if not wanted:
        return {}
    admin = new_client(AdminClient, client_config(settings))
    found: dict[str, str | None] = dict.fromkeys(wanted)
    futures = admin.describe_topics(TopicCollection(wanted), request_timeout=timeout)
    for topic, future in futures.items():
        try:
            topic_id = future.result(timeout=timeout).topic_id
        except KafkaException as err:
            log.debug("no topic id for %s (%s): a recreated topic is caught by offsets only",
                      topic, err)  # fmt: skip
            continue
        text = "" if topic_id is None else str(topic_id)
        found[topic] = text if text.strip("A=") else None  # the all-zero id means "none"
    return found


def partitions_of(topics: Mapping[str, int]) -> list[TopicPartitionKey]:
    """Returns every (topic, partition) of `topics` (topic -> partition count)."""
    return [(topic, p) for topic, count in topics.items() for p in range(count)]


def end_offsets(
    settings: Settings, partitions: Iterable[TopicPartitionKey], *, timeout: float = 10.0
) -> dict[TopicPartitionKey, int]:
    """Returns the true end offset (the offset the next message will get) of each partition
    (read as `kafka_io/end_offsets.py` explains).

    Raises:
        BrokerUnavailable: the broker did not answer within `timeout` seconds.
    """
    keys = list(dict.fromkeys(partitions))
    if not keys:
        return {}
    consumer = new_client(
        Consumer,
        client_config(
            settings,
            READER_CONFIG,
            fixed={"group.id": "eventlake-end-offsets", **READER_FIXED},
        ),
    )
    try:
        where = f"Kafka at {settings.kafka_bootstrap}"
        return read_end_offsets(consumer, keys, timeout=timeout, where=where)
    finally:
        consumer.close()
