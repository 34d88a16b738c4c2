"""`eventlake ingest` and `eventlake reset-offsets`: their flags and handlers.

Heavy imports wait for the handler, so `--help` stays fast.
"""

from __future__ import annotations

import argparse
import dataclasses
import faulthandler
import gc
import signal
import sys

from cli.args import (
    command,
    non_negative,
    positive,
    positive_int,
    stop_on_signals,
    tcp_port,
    topic,
    topic_pattern,
)
from eventlake.settings import Settings

_MIB = 1024 * 1024


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    """Adds `ingest` and `reset-offsets` to the `eventlake` parser."""
    _register_ingest(sub, parent)
    _register_reset(sub, parent)


def _register_ingest(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    p = command(sub, "ingest", _ingest, parent)
    p.add_argument(
        "--until-idle",
        action="store_true",
        help="drain what is in the topics now, commit, and exit 0",
    )
    p.add_argument(
        "--topic-pattern",
        type=topic_pattern,
        metavar="REGEX",
        help="ingest every topic whose whole name matches (EVENTLAKE_TOPIC_PATTERN; "
        "instead of --topics)",
    )
    batch = p.add_argument_group("flush triggers (whichever comes first)")
    batch.add_argument(
        "--batch-max-events",
        type=positive_int,
        default=50_000,
        help="messages per batch (default 50000)",
    )
    batch.add_argument(
        "--batch-max-mib",
        type=positive,
        default=24.0,
        help="MiB of message values per batch (default 24)",
    )
    batch.add_argument(
        "--batch-max-seconds",
        type=positive,
        default=0.8,
        help="seconds after a batch's first message (default 0.8)",
    )
    run = p.add_argument_group("running")
    run.add_argument(
        "--pipeline-depth",
        type=positive_int,
        default=1,
        help="decoded batches that may wait behind the one being written; more "
        "smooths a slow lake, costs memory (default 1)",
    )
    run.add_argument(
        "--shutdown-timeout",
        type=non_negative,
        default=30.0,
        metavar="SECONDS",
        help="at stop, how long to keep retrying a failing lake (default 30)",
    )
    run.add_argument(
        "--metrics-port",
        type=tcp_port(0),
        metavar="PORT",
        help="serve Prometheus metrics on this port (EVENTLAKE_METRICS_PORT; 0 = any free port)",
    )
    run.add_argument(
        "--metrics-host",
        default="0.0.0.0",
        metavar="ADDR",
        help="address of the metrics endpoint (default 0.0.0.0)",
    )
    run.add_argument(
        "--log-format",
        choices=["text", "json"],
        default="text",
        help="json: one JSON object per line (default text)",
    )


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    """run the ingester: Kafka to bronze, exactly once

    Consume the topics into bronze/events in micro-batches, exactly once
    (offsets live in the Delta log), bad messages to bronze/dead_letters. A batch is
    committed at whichever comes first of its message count, its bytes and its age.
    Ctrl-C or SIGTERM commits what was read, leaves the group and stops. Several
    ingesters in one consumer group share the partitions.

    examples:
      eventlake ingest
      eventlake ingest --until-idle
      eventlake ingest --topic-pattern 'events_.*' --metrics-port 9464 --log-format json
      eventlake ingest --batch-max-events 200000 --batch-max-seconds 2
    """
    from ingest.consume.ingester import ingest
    from ingest.consume.options import FlushTriggers, IngestOptions

    if args.log_format == "json":
        from ingest.observe.logs import use_json_logs

        use_json_logs()
    if args.topic_pattern is not None:
        settings = dataclasses.replace(settings, topic_pattern=args.topic_pattern)
    if args.metrics_port is not None:
        settings = dataclasses.replace(settings, metrics_port=args.metrics_port)
    options = IngestOptions(
        until_idle=args.until_idle,
        triggers=FlushTriggers(
            args.batch_max_events, max(1, int(args.batch_max_mib * _MIB)), args.batch_max_seconds
        ),
        depth=args.pipeline_depth,
        shutdown_timeout_s=args.shutdown_timeout,
        metrics_host=args.metrics_host,
    )
    _tune_gc()
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # `kill -USR1`: where is it stuck?
    with stop_on_signals() as stop:
        stats = ingest(settings, stop_event=stop, options=options)
    print(f"ingested: {stats.summary()}")
    return 0


def _tune_gc() -> None:
    """Freezes what is alive after start-up and collects less often: a batch in flight is
    ~10^5 young objects, and the default thresholds would scan them again and again."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def _register_reset(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    p = command(sub, "reset-offsets", _reset_offsets, parent)
    p.add_argument(
        "--topic",
        type=topic,
        action="append",
        required=True,
        metavar="TOPIC",
        help="a topic to reset (repeat for several)",
    )
    p.add_argument(
        "--to",
        choices=["earliest", "latest"],
        default="earliest",
        help="earliest: ingest the new topic from its start (default); latest: "
        "only what comes next",
    )
    p.add_argument("--yes", action="store_true", help="write the new offsets")


def _reset_offsets(args: argparse.Namespace, settings: Settings) -> int:
    """after a topic was recreated: make bronze follow the new topic

    Set the offsets of record of every partition of the given topics in
    bronze/dead_letters and bronze/events, and record the topics' current Kafka ids,
    so that the ingester accepts a topic that was deleted and created again. Stop the
    ingesters first. Without --yes, only shows what would change.

    examples:
      eventlake reset-offsets --topic user_events
      eventlake reset-offsets --topic user_events --to earliest --yes
      eventlake reset-offsets --topic a --topic b --to latest --yes
    """
    from eventlake.catalog import BRONZE_EVENTS
    from ingest.tools import reset_offsets

    changes = reset_offsets.plan(settings, args.topic, to=args.to)
    print("partition: offset of record in events / dead letters, Kafka end -> new offset")
    for c in changes:
        print(
            f"  {c.topic}/{c.partition}: {c.events_before} / {c.dead_letters_before}, "
            f"{c.kafka_end} -> {c.after}"
        )
    if not args.yes:
        print("nothing written (add --yes to reset)", file=sys.stderr)
        return 0
    version = reset_offsets.apply(settings, changes)
    print(
        f"offsets reset to {args.to} for {', '.join(args.topic)} "
        f"({BRONZE_EVENTS.name} version {version})"
    )
    return 0
