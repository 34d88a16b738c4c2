"""The ingester: Kafka to bronze in micro-batches, exactly once, bad messages to dead letters.

The consumer thread (`ingest.consume.loop`) reads messages into a `Buffer`, decodes each full
batch and hands it to the writer thread (`ingest.write.writer_thread`), which commits it to
bronze while the next batch is read. Where a partition resumes is read from the Delta log (txn
versions, see `ingest.write.offsets`) on every assignment; the writer checks it again before
each commit and fences off what another ingester wrote meanwhile (`ingest.write.bronze`).
Kafka's committed offsets are written after each Delta commit, only so that lag tools work.

The consumer subscribes before the loop's modules (Polars, Delta) load and the writer opens the
lake, so the group join runs meanwhile (`ingest.consume.subscription`).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from confluent_kafka import Consumer

from eventlake.settings import Settings
from ingest.consume.options import (
    CONSUMER_DEFAULTS,
    FlushTriggers,
    IngestOptions,
    consumer_config,
    incremental,
)
from ingest.consume.subscription import Subscription
from ingest.kafka import cluster

if TYPE_CHECKING:
    from ingest.observe.stats import IngestStats

__all__ = ["CONSUMER_DEFAULTS", "IngestOptions", "consumer_config", "ingest"]

log = logging.getLogger(__name__)


def ingest(
    settings: Settings,
    *,
    until_idle: bool = False,
    stop_event: threading.Event | None = None,
    batch_max_events: int = FlushTriggers.max_events,
    batch_max_bytes: int = FlushTriggers.max_bytes,
    batch_max_seconds: float = FlushTriggers.max_seconds,
    options: IngestOptions | None = None,
) -> IngestStats:
    """Returns the stats of a run: consumes the settings' topics into bronze until stopped.

    Args:
        until_idle: stop once everything that was in the topics at start is committed.
        stop_event: set it to stop; what was read is committed first.
        batch_max_events: flush a batch at this many messages...
        batch_max_bytes: ...or this many bytes of message values...
        batch_max_seconds: ...or this many seconds after its first message.
        options: everything else (`batch_*` and `until_idle` are ignored when given).

    Raises:
        BrokerUnavailable: the broker is unreachable, a topic is missing, or consuming fails.
        OffsetsAhead: bronze holds offsets the topic does not have (it was recreated).
        LakeError: bronze cannot be written (after retries, at stop), or went back in time.
    """
    if options is None:
        triggers = FlushTriggers(batch_max_events, batch_max_bytes, batch_max_seconds)
        options = IngestOptions(until_idle=until_idle, triggers=triggers)
    if settings.topic_pattern is not None:
        topics = cluster.matching_topics(settings, settings.topic_pattern)
        if not topics:
            log.warning("no topic matches %r yet: waiting for one", settings.topic_pattern)
    else:
        topics = cluster.require_topics(settings, settings.topics)
    if options.until_idle and not topics:
        from ingest.observe.stats import IngestStats

        log.warning("nothing to ingest: no topic matches %r", settings.topic_pattern)
        return IngestStats()
    started = time.monotonic()
    config = consumer_config(settings)
    subscription = Subscription(
        cluster.new_client(Consumer, config),
        settings.topic_pattern,
        incremental=incremental(config),
    )
    subscription.subscribe(sorted(topics))  # the group join starts: it runs while we load
    try:
        from ingest.consume.loop import ConsumerLoop  # Polars, Delta: loaded during the join

        targets = None
        if options.until_idle:  # drain up to the ends the topics have now (kafka/cluster.py)
            targets = cluster.end_offsets(settings, cluster.partitions_of(topics))
        log.info(
            "ingesting %s from %s into %s (group %s)%s",
            settings.topic_pattern or ",".join(topics),
            settings.kafka_bootstrap,
            settings.lake_root,
            settings.group_id,
            ", until idle" if options.until_idle else "",
        )
        log.debug("settings: %s", settings.redacted())
        run = ConsumerLoop(
            settings, options, targets, stop_event or threading.Event(), subscription
        )
    except BaseException:  # e.g. the metrics port is taken: leave the group it joined
        subscription.leave()
        raise
    return run.run(started)
