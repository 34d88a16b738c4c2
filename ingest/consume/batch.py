"""The micro-batch being filled (flushed by the `FlushTriggers` of `ingest.consume.options`) and
the per-partition chain of offsets.

Messages are buffered as the consumer hands them out, with no per-message work. When the batch
is sealed, `chain` works on its positions as a whole: each partition's part of the batch must
continue from the partition's head (the last offset of record, or already sealed), with no
offset twice; a message that does not (re-delivered after a seek, or of a partition no longer
assigned) is dropped. What is left of each partition is a `Slice`, and that chain is what lets
the writer decide, against the offsets of record in the Delta log, which rows are new.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import polars as pl
from confluent_kafka import Message

from ingest.consume.options import FlushTriggers
from ingest.kafka.cluster import TopicPartitionKey

_KEY = ["kafka_topic", "kafka_partition"]


@dataclass(frozen=True)
class Slice:
    """One partition's messages in a batch: every offset after `prev`, up to `last`."""

    prev: int  # the offset of record the slice continues from (offsets.NONE: none)
    first: int
    last: int


class Buffer:
    """The batch being filled, and the head of every assigned partition.

    A partition's head is the offset the next batch continues from: its offset of record at
    assignment, then the last offset of each sealed batch. Partitions without a head are not
    assigned: their messages are dropped when the batch is sealed.
    """

    def __init__(self, triggers: FlushTriggers) -> None:
        self.triggers = triggers
        self.heads: dict[TopicPartitionKey, int] = {}
        self.ends: dict[TopicPartitionKey, int] = {}  # partition ends reached (EOF events)
        self.messages: list[Message] = []
        self.bytes = 0
        self.started = 0.0  # monotonic time of the first message
        self.started_wall_us = 0

    def __len__(self) -> int:
        return len(self.messages)

    def extend(self, messages: list[Message], on_error: Callable[[Message], None]) -> int:
        """Returns how many messages it buffered; error events go to `on_error`."""
        good = [m for m in messages if m.error() is None]
        if len(good) < len(messages):
            for m in messages:
                if m.error() is not None:
                    on_error(m)
        if good:
            if not self.messages:
                self.started = time.monotonic()
                self.started_wall_us = time.time_ns() // 1000
            self.messages.extend(good)
            self.bytes += sum(map(len, good))
        return len(good)

    def due(self) -> str | None:
        """Returns the trigger that says the batch must be flushed now, or None."""
        if not self.messages:
            return None
        t = self.triggers
        if len(self.messages) >= t.max_events:
            return "events"
        if self.bytes >= t.max_bytes:
            return "bytes"
        if time.monotonic() - self.started >= t.max_seconds:
            return "time"
        return None

    def seconds_left(self) -> float:
        """Returns the time until the time trigger fires (the whole linger when empty)."""
        if not self.messages:
            return self.triggers.max_seconds
        return max(0.0, self.started + self.triggers.max_seconds - time.monotonic())

    def take(self) -> list[Message]:
        """Returns the buffered messages and starts an empty batch."""
        messages = self.messages
        self.messages, self.bytes, self.started = [], 0, 0.0
        return messages

    def forget(self, keys: Iterable[TopicPartitionKey]) -> None:
        """Drops the heads of `keys` (revoked): their buffered messages go at the next seal."""
        for key in keys:
            self.heads.pop(key, None)
            self.ends.pop(key, None)

    def fence(self, key: TopicPartitionKey, of_record: int) -> bool:
        """Returns True when the consumer must seek past `of_record`, which another ingester
        wrote `key` up to; buffered messages at or below it go at the next seal."""
        head = self.heads.get(key)
        if head is None:
            return False
        mine = [m.offset() or 0 for m in self.messages if (m.topic(), m.partition()) == key]
        read = max(mine, default=head)
        self.heads[key] = max(head, of_record)
        return read < of_record


def chain(
    positions: pl.DataFrame, heads: Mapping[TopicPartitionKey, int]
) -> tuple[pl.Series | None, dict[TopicPartitionKey, Slice]]:
    """Returns (which messages to keep, or None for all; the slice of each partition).

    Args:
        positions: `kafka_topic`, `kafka_partition`, `kafka_offset` of each message, in
            consumption order.
        heads: the offset each partition continues from.
    """
    known = pl.DataFrame(
        {
            "kafka_topic": [t for t, _ in heads],
            "kafka_partition": [p for _, p in heads],
            "prev": list(heads.values()),
        },
        schema={"kafka_topic": pl.String, "kafka_partition": pl.Int32, "prev": pl.Int64},
    )
    offset = pl.col("kafka_offset")
    before = offset.cum_max().shift(1).over(_KEY)
    keep = (offset > pl.col("prev")) & (before.is_null() | (offset > before))
    marked = (
        positions.select(*_KEY, "kafka_offset")
        .join(known, on=_KEY, how="left", maintain_order="left")
        .with_columns(keep=keep.fill_null(False))
    )
    slices = (
        marked.filter("keep")
        .group_by(_KEY)
        .agg(pl.col("prev").first(), offset.min().alias("first"), offset.max().alias("last"))
    )
    found = {(t, p): Slice(prev, first, last) for t, p, prev, first, last in slices.iter_rows()}
    kept = marked.get_column("keep")
    return (None if kept.all() else kept), found
