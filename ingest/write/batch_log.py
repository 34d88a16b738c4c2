"""bronze/ingest_batches: one row per committed micro-batch, appended every two seconds.

The rows are metrics, not offsets of record: they are buffered and appended every 2 s (one
Delta commit per batch would double the commits of a busy ingester) and at shutdown. A crash
loses the rows of the last seconds, never an event.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from eventlake import lake
from eventlake.catalog import BRONZE_INGEST_BATCHES
from eventlake.errors import LakeError
from eventlake.lake import DeltaTable
from eventlake.settings import Settings
from ingest.write.bronze import Committed

log = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_BUFFERED_ROWS = 10_000  # while the lake is down; the oldest rows go first


def batch_row(done: Committed, *, consumer_id: str) -> dict[str, Any]:
    """Returns the bronze/ingest_batches row of one committed batch."""
    batch = done.batch
    offset_ranges = [
        {"topic": topic, "partition": partition, "first": piece.first, "last": piece.last}
        for (topic, partition), piece in sorted(batch.slices.items())
        if (topic, partition) in done.of_record
    ]
    return {
        "batch_id": uuid.uuid4().hex,
        "consumer_id": consumer_id,
        "started_at": _EPOCH + timedelta(microseconds=batch.started_at_us),
        "committed_at": datetime.now(UTC),
        "events": done.events,
        "dead_letters": done.dead_letters,
        "bytes": batch.decoded.bytes,
        "offset_ranges": json.dumps(offset_ranges),
        "events_version": done.events_version,
        "lag": batch.lag,
        "decode_ms": batch.decode_ms,
        "write_ms": done.write_ms,
    }


class BatchLog:
    """Buffers batch rows and appends them to bronze/ingest_batches now and then."""

    def __init__(self, settings: Settings, *, consumer_id: str, interval_s: float = 2.0) -> None:
        self.settings = settings
        self.consumer_id = consumer_id
        self.interval_s = interval_s
        self.rows: list[dict[str, Any]] = []
        self.last_flush = time.monotonic()
        self._table: DeltaTable | None = None

    def add(self, done: Committed) -> None:
        """Buffers the row of a batch that committed something."""
        if done.events_version is None and done.dead_letters_version is None:
            return  # fenced away entirely: nothing was committed
        self.rows.append(batch_row(done, consumer_id=self.consumer_id))
        if len(self.rows) > MAX_BUFFERED_ROWS:
            del self.rows[: len(self.rows) - MAX_BUFFERED_ROWS]

    def flush(self, *, force: bool = False) -> None:
        """Appends the buffered rows when the interval has passed (or `force`); keeps them on
        failure (the lake may be down: the next flush tries again)."""
        if not self.rows or (not force and time.monotonic() - self.last_flush < self.interval_s):
            return
        self.last_flush = time.monotonic()
        frame = pl.DataFrame(self.rows, schema=BRONZE_INGEST_BATCHES.schema)
        try:
            if self._table is None:
                self._table = lake.ensure_table(self.settings, BRONZE_INGEST_BATCHES)
            lake.append_to(
                lake.refresh(self._table, BRONZE_INGEST_BATCHES), BRONZE_INGEST_BATCHES, frame
            )
        except LakeError as err:
            log.warning(
                "%d rows of %s kept for later: %s", len(self.rows), BRONZE_INGEST_BATCHES.name, err
            )
            return
        self.rows = []
