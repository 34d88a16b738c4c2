"""Kafka's true end offsets, read the one way that is right on every broker we run against.

ListOffsets(latest) is wrong on the bundled broker once batches hold more than one message
(docs/deploy-kafka.md, "What the client code relies on"), but every fetch response carries the
right high watermark: so a consumer that never joins a group fetches one batch near the end of
each partition (or reaches its end, when empty) and reads the cached watermark. The ingester's
tools and the dashboard's lag both read ends through here.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from eventlake.errors import BrokerUnavailable

PartitionKey = tuple[str, int]
# Settings of the reading consumer on top of the caller's client config.
READER_CONFIG = {"fetch.wait.max.ms": 10, "max.partition.fetch.bytes": 1}  # one batch is enough
READER_FIXED = {"enable.auto.commit": False, "enable.partition.eof": True}


def read_end_offsets(
    consumer: Consumer, partitions: Iterable[PartitionKey], *, timeout: float, where: str
) -> dict[PartitionKey, int]:
    """Returns the end offset (the offset the next message will get) of each partition.

    Args:
        consumer: a consumer built with `READER_CONFIG` and `READER_FIXED`, never subscribed;
            the caller closes it.
        timeout: seconds for the whole answer.
        where: the broker, as error messages name it ("Kafka at host:port").

    Raises:
        BrokerUnavailable: the broker did not answer within `timeout` or refused a request.
    """
    keys = list(dict.fromkeys(partitions))
    if not keys:
        return {}
    try:
        start = []
        for topic, partition in keys:
            low, high = consumer.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=timeout
            )
            start.append(TopicPartition(topic, partition, max(int(low), int(high) - 1)))
        consumer.assign(start)
        return _fetch_ends(consumer, keys, time.monotonic() + timeout, timeout, where)
    except KafkaException as err:
        detail = err.args[0].str() if err.args and hasattr(err.args[0], "str") else err
        raise BrokerUnavailable(f"{where}: reading end offsets failed: {detail}") from err


def _fetch_ends(
    consumer: Consumer, keys: list[PartitionKey], deadline: float, timeout: float, where: str
) -> dict[PartitionKey, int]:
    ends: dict[PartitionKey, int] = {}
    while len(ends) < len(keys):
        if time.monotonic() > deadline:
            pending = sorted(set(keys) - set(ends))
            raise BrokerUnavailable(
                f"{where} sent no fetch response for "
                f"{', '.join(f'{t}/{p}' for t, p in pending[:5])} within {timeout:g} s"
            )
        for msg in consumer.consume(len(keys), 0.1):
            err = msg.error()
            if err is not None and err.code() != KafkaError._PARTITION_EOF:
                raise BrokerUnavailable(
                    f"fetching {msg.topic()}/{msg.partition()} from {where} failed: {err.str()}"
                )
            key = (str(msg.topic()), int(msg.partition() or 0))
            if key not in ends:
                ends[key] = consumer.get_watermark_offsets(TopicPartition(*key), cached=True)[1]
    return ends
