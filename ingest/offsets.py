"""Where the ingester's Kafka offsets live: Delta `txn` actions, one app id per topic-partition.

The offsets committed to Kafka are only a courtesy to lag tools; the truth is in the Delta log,
written in the same commit as the rows (the kafka-delta-ingest design). A partition's txn
version is the last offset whose message is in the table.
"""

from __future__ import annotations

from collections.abc import Iterable

from eventlake import lake
from eventlake.catalog import TableSpec
from eventlake.settings import Settings
from ingest.kafka import TopicPartitionKey

NONE = -1
"""The txn version of a partition the table holds nothing of: the next offset to read is 0."""


def app_id(topic: str, partition: int) -> str:
    """Returns the Delta txn app id that records the ingester's offset of one partition."""
    return f"eventlake-ingest/{topic}/{partition}"


def txn_versions(
    settings: Settings, spec: TableSpec, keys: Iterable[TopicPartitionKey]
) -> dict[TopicPartitionKey, int]:
    """Returns the last offset the table holds for each partition (`NONE` when it holds none).

    Reads the latest table version (a table that does not exist holds nothing).
    """
    table = lake.open_table(settings, spec)
    versions = {}
    for topic, partition in keys:
        version = table.transaction_version(app_id(topic, partition)) if table else None
        versions[(topic, partition)] = NONE if version is None else int(version)
    return versions
