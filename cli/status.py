"""`eventlake status`: how far bronze is behind Kafka, the dead letters, each table's freshness.

Heavy imports (Kafka, Polars, Delta) wait for the handler, so `--help` stays fast.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

from cli.args import command, non_negative_int, topic_pattern
from eventlake.settings import Settings


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    """Adds `status` to the `eventlake` parser."""
    p = command(sub, "status", _status, parent)
    p.add_argument(
        "--topic-pattern",
        type=topic_pattern,
        metavar="REGEX",
        help="report every topic whose whole name matches (EVENTLAKE_TOPIC_PATTERN)",
    )
    p.add_argument(
        "--format",
        choices=("text", "prometheus"),
        default="text",
        help="text tables (default) or Prometheus text exposition",
    )
    p.add_argument(
        "--max-lag",
        type=non_negative_int,
        metavar="N",
        help="exit 1 when more than N messages in Kafka are not yet in bronze",
    )
    p.add_argument(
        "--max-staleness",
        type=non_negative_int,
        metavar="SECONDS",
        help="exit 1 when a silver or gold table is more than SECONDS behind the last batch",
    )


def _status(args: argparse.Namespace, settings: Settings) -> int:
    """per partition lag, last commit, dead letters, freshness of each table

    Print how far bronze/events is behind Kafka per partition, the dead letters
    by code, the version and age of the last commit of every table, and the
    event-to-gold latency of the events produced in the last 60 minutes.
    Works with the broker down (lake facts only; exit code 1).

    examples:
      eventlake status
      eventlake status --lake-root s3://bucket/lake
      eventlake status --max-lag 100000 --max-staleness 300   # exit 1 when exceeded
      eventlake status --format prometheus > /var/lib/node_exporter/eventlake.prom
    """
    from ingest.tools import status_report

    if args.topic_pattern is not None:
        settings = dataclasses.replace(settings, topic_pattern=args.topic_pattern)
    from ingest.tools import status_alerts
    from operations import freshness

    report = status_report.collect(settings)
    fresh = freshness.measure(settings)  # event to gold (docs/operations.md)
    if args.format == "prometheus":
        print(status_alerts.prometheus_text(report) + freshness.prometheus_text(fresh), end="")
    else:
        print(status_report.render(report) + "\n\n" + freshness.render(fresh))
    failed = status_alerts.breaches(report, max_lag=args.max_lag, max_staleness=args.max_staleness)
    for line in failed:
        print(f"eventlake status: {line}", file=sys.stderr)
    if report.broker_error is not None:
        print(f"eventlake status: broker down: {report.broker_error}", file=sys.stderr)
    return 1 if failed or report.broker_error is not None else 0
