"""`eventlake reset-offsets`: the documented way past `OffsetsAhead` after a topic was recreated.

Bronze records, per partition, the last offset it holds (txn versions in bronze/dead_letters and
bronze/events) and which incarnation of the topic it follows (its Kafka topic id). A topic that
was deleted and created again starts over at offset 0, so the ingester refuses to resume into
it. Resetting writes new offsets of record in two empty commits, dead letters first (a crash
between the two leaves the events table ahead, and the ingester still refuses: run it again):

- `earliest`: ingest the new topic from its start; the old rows stay in bronze (silver
  deduplicates by event id).
- `latest`: skip what the new topic holds now; ingest only what comes next.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from eventlake import lake, log_rules
from eventlake.catalog import BRONZE_DEAD_LETTERS, BRONZE_EVENTS
from eventlake.settings import Settings
from ingest.kafka import cluster
from ingest.write import offsets

ResetTo = Literal["earliest", "latest"]
RESET_KEY = "eventlake.offsets_reset"  # commit metadata of a reset: what was reset, to what


@dataclass(frozen=True)
class PartitionReset:
    """One partition: its offsets of record before and after the reset."""

    topic: str
    partition: int
    events_before: int  # offsets.NONE: none
    dead_letters_before: int
    after: int
    kafka_end: int


def plan(settings: Settings, topics: Iterable[str], *, to: ResetTo) -> list[PartitionReset]:
    """Returns what resetting `topics` would change (nothing is written).

    Raises:
        BrokerUnavailable: the broker is unreachable or a topic does not exist.
    """
    keys = cluster.partitions_of(cluster.require_topics(settings, list(topics)))
    ends = cluster.end_offsets(settings, keys)
    events = offsets.txn_versions(settings, BRONZE_EVENTS, keys)
    dead = offsets.txn_versions(settings, BRONZE_DEAD_LETTERS, keys)
    return [
        PartitionReset(
            topic=topic,
            partition=partition,
            events_before=events[(topic, partition)],
            dead_letters_before=dead[(topic, partition)],
            after=offsets.NONE if to == "earliest" else ends[(topic, partition)] - 1,
            kafka_end=ends[(topic, partition)],
        )
        for topic, partition in keys
    ]


def apply(settings: Settings, changes: list[PartitionReset]) -> int:
    """Writes the new offsets of record (dead letters first); returns the bronze/events version.

    Also records the topics' current Kafka ids, so the ingester accepts the new incarnation.
    """
    txns = {log_rules.offset_app_id(c.topic, c.partition): c.after for c in changes}
    topics = sorted({c.topic for c in changes})
    dead_table = lake.ensure_table(settings, BRONZE_DEAD_LETTERS)
    lake.append_to(dead_table, BRONZE_DEAD_LETTERS, BRONZE_DEAD_LETTERS.empty(), offsets=txns)
    for topic, topic_id in cluster.topic_ids(settings, topics).items():
        if topic_id is not None:
            txns[log_rules.topic_app_id(topic)] = offsets.topic_fingerprint(topic_id)
    record = {c.topic + "/" + str(c.partition): c.after for c in changes}
    events_table = lake.ensure_table(settings, BRONZE_EVENTS)
    return lake.append_to(
        events_table,
        BRONZE_EVENTS,
        BRONZE_EVENTS.empty(),
        offsets=txns,
        # no rows: an empty list of event dates tells the bronze sensor no day changed (without
        # it, a commit of unknown days makes it rebuild every day)
        metadata={RESET_KEY: json.dumps(record, sort_keys=True), lake.EVENT_DATES_KEY: ""},
    )
