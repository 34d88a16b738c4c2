"""What one run of the ingester did: the figures `eventlake ingest` prints when it stops."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from eventlake.catalog import BRONZE_EVENTS
from ingest.kafka.cluster import TopicPartitionKey
from ingest.write.bronze import Committed

log = logging.getLogger("ingest.consume.ingester")


@dataclass
class IngestStats:
    """What one run of the ingester committed to bronze."""

    batches: int = 0
    events: int = 0
    dead_letters: int = 0
    consumed: int = 0  # messages read and buffered
    skipped: int = 0  # messages at offsets already read or in bronze (re-delivered)
    slow: int = 0  # messages the fast path left to `envelope.parse`
    fenced: int = 0  # partitions of batches another ingester had written meanwhile
    bytes: int = 0
    events_version: int | None = None
    seconds: float = 0.0
    last_offsets: dict[TopicPartitionKey, int] = field(default_factory=dict)
    metrics_port: int | None = None  # where /metrics was served

    def add(self, done: Committed) -> None:
        """Counts one committed batch."""
        if done.events_version is None and done.dead_letters_version is None:
            return  # another ingester had written all of it
        self.batches += 1
        self.events += done.events
        self.dead_letters += done.dead_letters
        self.bytes += done.batch.decoded.bytes
        self.slow += done.batch.decoded.slow
        if done.events_version is not None:
            self.events_version = done.events_version
        self.last_offsets.update(done.of_record)

    @property
    def messages_per_second(self) -> float:
        """Messages (events and dead letters) committed per second of wall time."""
        return (self.events + self.dead_letters) / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        """Returns one line for a person: what was committed, how fast."""
        return (
            f"{self.batches} batches, {self.events} events, {self.dead_letters} dead letters, "
            f"{self.skipped} skipped in {self.seconds:.1f} s "
            f"({self.messages_per_second:,.0f} messages/s), {BRONZE_EVENTS.name} version "
            f"{'-' if self.events_version is None else self.events_version}"
        )


def log_committed(done: Committed) -> None:
    """Logs one committed batch: a line for people, a `batch` object for JSON logs."""
    batch = done.batch
    log.info(
        "batch committed: %d events, %d dead letters, %s version %s (%d partitions, lag %s, "
        "decode %.0f ms, write %.0f ms%s)",
        done.events,
        done.dead_letters,
        BRONZE_EVENTS.name,
        done.events_version,
        len(done.of_record),
        batch.lag,
        batch.decode_ms,
        done.write_ms,
        f", {len(done.fenced)} fenced" if done.fenced else "",
        extra={
            "batch": {
                "seq": batch.seq,
                "messages": batch.messages,
                "events": done.events,
                "dead_letters": done.dead_letters,
                "events_version": done.events_version,
                "partitions": {f"{t}/{p}": last for (t, p), last in done.of_record.items()},
                "fenced": {f"{t}/{p}": last for (t, p), last in done.fenced.items()},
                "lag": batch.lag,
                "decode_ms": round(batch.decode_ms, 1),
                "write_ms": round(done.write_ms, 1),
                "attempts": done.attempts,
            }
        },
    )
