"""The writer thread: bronze commits overlap consuming and decoding, with retries and backoff.

The consumer thread decodes a batch and hands it over (`submit`); this thread commits it while
the next one is read. At most `depth` batches wait behind the one being written: when the lake
is slow or failing the consumer sees no `room` and pauses its partitions. A failed commit is
retried, with exponential backoff, until it succeeds: offsets move only with commits, so a
retry never skips or repeats a message. Results go back to the consumer thread, which owns the
Kafka consumer (offset commits, seeks).
"""

from __future__ import annotations

import logging
import queue
import random
import threading
from dataclasses import dataclass, replace

from eventlake import lake
from eventlake.errors import LakeError
from ingest.observe.metrics import IngestMetrics
from ingest.write.batch_log import BatchLog
from ingest.write.bronze import BronzeWriter, Committed, SealedBatch, TableBehind

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff between attempts at a commit that failed: first, then doubling up to `max_s`."""

    first_s: float = 0.2
    max_s: float = 10.0
    conflicts_before_backoff: int = 20  # concurrent commits are retried at once, up to this


@dataclass(frozen=True)
class WriteFailed:
    """A batch that was not committed, and why (the ingester stops on it)."""

    batch: SealedBatch | None
    error: BaseException


class WriterThread:
    """Commits sealed batches in order, in a thread of its own."""

    def __init__(
        self,
        writer: BronzeWriter,
        batch_log: BatchLog,
        metrics: IngestMetrics,
        *,
        depth: int = 1,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.writer, self.batch_log, self.metrics = writer, batch_log, metrics
        self.depth = depth
        self.retry = retry or RetryPolicy()
        self._inbox: queue.Queue[SealedBatch | None] = queue.Queue()
        self._outbox: queue.Queue[Committed | WriteFailed] = queue.Queue()
        self._pending = 0
        self._idle = threading.Condition()
        self._give_up = threading.Event()
        self.failing = False  # the last attempt failed and a retry is due
        self._thread = threading.Thread(target=self._run, name="bronze-writer", daemon=True)
        self._thread.start()

    @property
    def pending(self) -> int:
        """Batches submitted and not yet reported back."""
        return self._pending

    def room(self) -> bool:
        """Returns True when a batch can be submitted without exceeding the depth."""
        return self._pending <= self.depth

    def submit(self, batch: SealedBatch) -> None:
        """Queues `batch` for commit (check `room` first to stay within the depth)."""
        with self._idle:
            self._pending += 1
        self._inbox.put(batch)

    def results(self) -> list[Committed | WriteFailed]:
        """Returns the outcomes reported since the last call, in commit order."""
        found = []
        while True:
            try:
                found.append(self._outbox.get_nowait())
            except queue.Empty:
                return found

    def wait(self, timeout: float) -> bool:
        """Returns True once every submitted batch is reported back, False after `timeout`."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def give_up(self) -> None:
        """Stops retrying: the batch being retried and those waiting are reported as failed."""
        self._give_up.set()

    def close(self, timeout: float = 30.0) -> None:
        """Flushes the batch rows and stops the thread once the queued batches are done."""
        self._inbox.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            batch = self._inbox.get()
            if batch is None:
                break
            outcome: Committed | WriteFailed
            if self._give_up.is_set():
                outcome = WriteFailed(batch, LakeError("not committed: the ingester gave up"))
            else:
                outcome = self._commit(batch)
            if isinstance(outcome, Committed):
                self.batch_log.add(outcome)
                self.batch_log.flush()
            self._outbox.put(outcome)
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()
        self.batch_log.flush(force=True)

    def _commit(self, batch: SealedBatch) -> Committed | WriteFailed:
        delay, attempts, conflicts = self.retry.first_s, 0, 0
        while True:
            attempts += 1
            try:
                done = self.writer.commit(batch)
            except lake.ConcurrentCommit as err:
                conflicts += 1
                self.metrics.retries.labels("concurrent_commit").inc()
                log.debug("batch %d: %s; re-reading the offsets of record", batch.seq, err)
                if conflicts <= self.retry.conflicts_before_backoff:
                    self._give_up.wait(random.uniform(0.0, 0.05))
                    continue
                failure: LakeError = err
            except TableBehind as err:
                return WriteFailed(batch, err)
            except LakeError as err:
                if lake.is_permanent(err):
                    return WriteFailed(batch, err)  # retrying cannot help
                self.metrics.retries.labels("lake_error").inc()
                failure = err
            except BaseException as err:  # a bug: stop the ingester with it, never hang it
                return WriteFailed(batch, err)
            else:
                self._failing(False)
                return replace(done, attempts=attempts)
            self._failing(True)
            log.warning(
                "batch %d not committed (attempt %d), retrying in %.1f s: %s",
                batch.seq,
                attempts,
                delay,
                failure,
            )
            if self._give_up.wait(delay * random.uniform(0.8, 1.2)):
                return WriteFailed(batch, failure)
            delay = min(self.retry.max_s, delay * 2)

    def _failing(self, failing: bool) -> None:
        if failing != self.failing:
            self.failing = failing
            self.metrics.lake_failing.set(1 if failing else 0)
            if not failing:
                log.info("the lake accepts commits again")
