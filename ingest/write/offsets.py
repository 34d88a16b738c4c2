"""Where the ingester's Kafka offsets live: Delta `txn` actions, one app id per topic-partition.

The offsets committed to Kafka are only a courtesy to lag tools; the truth is in the Delta log,
written in the same commit as the rows (the kafka-delta-ingest design). A partition's txn
version is the last offset whose message is in the table.

Each topic's identity is recorded too: a txn whose version is a fingerprint of the Kafka topic
id. A topic deleted and created again under the same name gets a new id, so the ingester can
refuse to resume into it even when the new topic already holds more messages than the old one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

from eventlake import lake
from eventlake.catalog import BRONZE_DEAD_LETTERS, BRONZE_EVENTS, TableSpec
from eventlake.errors import OffsetsAhead
from eventlake.lake import DeltaTable
from eventlake.log_rules import offset_app_id, topic_app_id
from eventlake.settings import Settings
from ingest.kafka.cluster import TopicPartitionKey

NONE = -1
"""The txn version of a partition the table holds nothing of: the next offset to read is 0."""


def topic_fingerprint(topic_id: str) -> int:
    """Returns a non-negative 63-bit fingerprint of a Kafka topic id (a txn version)."""
    digest = hashlib.blake2b(topic_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


class KnownTxns:
    """The txn versions of one table handle, read once per table version.

    deltalake's `transaction_version` replays the log since the last checkpoint on every call
    (on object storage: a GET per commit file, per call). The writer asks for every partition
    of every batch, while most of the time the only commits since its last look are its own:
    what it wrote is known, so the values are carried forward, and any other commit (another
    ingester, a replay, maintenance) makes the next read go to the log again.
    """

    def __init__(self) -> None:
        self.version: int | None = None
        self.known: dict[str, int | None] = {}

    def get(self, table: DeltaTable, app: str) -> int | None:
        """Returns the txn version of `app` in the table's loaded version (None: never)."""
        if table.version() != self.version:
            self.version, self.known = table.version(), {}
        if app not in self.known:
            self.known[app] = lake.txn_of(table, app)
        return self.known[app]

    def committed(self, before: int, after: int, txns: Mapping[str, int]) -> None:
        """Records a commit of `txns` that took the table from version `before` to `after`:
        carried forward when nothing else was committed in between, else forgotten."""
        if self.version == before and after == before + 1:
            self.known.update(txns)
            self.version = after
        else:
            self.version, self.known = None, {}


def txn_versions(
    settings: Settings, spec: TableSpec, keys: Iterable[TopicPartitionKey]
) -> dict[TopicPartitionKey, int]:
    """Returns the last offset the table holds for each partition (`NONE` when it holds none).

    Reads the latest table version (a table that does not exist holds nothing).
    """
    table = lake.open_table(settings, spec)
    versions = {}
    for topic, partition in keys:
        version = lake.txn_of(table, offset_app_id(topic, partition))
        versions[(topic, partition)] = NONE if version is None else version
    return versions


def resume_positions(
    settings: Settings,
    keys: Iterable[TopicPartitionKey],
    *,
    ends: Mapping[TopicPartitionKey, int],
    topic_ids: Mapping[str, str | None],
) -> dict[TopicPartitionKey, int]:
    """Returns the offset of record of each partition: where the ingester resumes (plus one).

    Args:
        ends: the true end offset of each partition in Kafka now.
        topic_ids: the Kafka topic id of each topic (None: the broker does not tell).

    Raises:
        OffsetsAhead: bronze follows another incarnation of a topic (it was recreated), or
            records offsets the partition does not have.
    """
    keys = list(keys)
    events = lake.open_table(settings, BRONZE_EVENTS)
    dead = txn_versions(settings, BRONZE_DEAD_LETTERS, keys)
    positions = {}
    for key in keys:
        recorded = lake.txn_of(events, offset_app_id(*key))
        last = NONE if recorded is None else recorded
        highest = max(last, dead[key])
        if highest + 1 > ends[key]:
            table = BRONZE_EVENTS if last >= dead[key] else BRONZE_DEAD_LETTERS
            raise OffsetsAhead(
                f"{key[0]}/{key[1]}: {table.name} holds offsets up to {highest} but the topic "
                f"ends at {ends[key]}: was the topic recreated (a restart of the local broker "
                f"loses its topics)? {_HOW_TO}"
            )
        positions[key] = last
    for topic in dict.fromkeys(topic for topic, _ in keys):
        fingerprint, current = lake.txn_of(events, topic_app_id(topic)), topic_ids.get(topic)
        if (
            fingerprint is not None
            and current is not None
            and fingerprint != topic_fingerprint(current)
        ):
            raise OffsetsAhead(
                f"{topic}: bronze was written from another incarnation of this topic (its "
                f"Kafka topic id changed: it was deleted and created again). {_HOW_TO}"
            )
    return positions


_HOW_TO = (
    "Refusing to guess. To ingest the new topic from its start and keep the old rows, run "
    "`eventlake reset-offsets --topic TOPIC`; or ingest into a fresh lake (docs/operations.md)"
)
