"""The ingest part's subcommands: `broker start|stop|status`, `simulate`, `status`, and (from
`ingest.ingest_cli`) `ingest` and `reset-offsets`.

Registered by `eventlake.cli`; heavy imports (Kafka, Polars, Delta) wait for the handler, so
`--help` stays fast. Handlers take (args, settings) and return the exit code.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from eventlake.settings import Settings
from ingest import ingest_cli
from ingest.cli_types import count, fraction, non_negative, positive_int, stop_on_signals

_RAW = argparse.RawDescriptionHelpFormatter


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    """Adds the ingest part's subcommands to the `eventlake` parser."""
    _register_broker(sub, parent)
    _register_simulate(sub, parent)
    ingest_cli.register(sub, parent)
    p = sub.add_parser(
        "status",
        parents=[parent],
        formatter_class=_RAW,
        help="per partition lag, last commit, dead letters, freshness of each table",
        description="Print how far bronze/events is behind Kafka per partition, the dead letters\n"
        "by code, and the version and age of the last commit of every table.\n"
        "Works with the broker down (lake facts only; exit code 1).",
        epilog="examples:\n  eventlake status\n  eventlake status --lake-root s3://bucket/lake\n"
        "  eventlake status --max-lag 100000 --max-staleness 300   # exit 1 when exceeded\n"
        "  eventlake status --format prometheus > /var/lib/node_exporter/eventlake.prom",
    )
    p.add_argument(
        "--topic-pattern",
        type=ingest_cli.topic_pattern,
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
        type=_non_negative_int,
        metavar="N",
        help="exit 1 when more than N messages in Kafka are not yet in bronze",
    )
    p.add_argument(
        "--max-staleness",
        type=_non_negative_int,
        metavar="SECONDS",
        help="exit 1 when a silver or gold table is more than SECONDS behind the last batch",
    )
    p.set_defaults(handler=_status)


# --- broker -------------------------------------------------------------------------------


def _register_broker(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    broker = sub.add_parser(
        "broker",
        help="the bundled local Kafka broker (start, stop, status)",
        description="The bundled local broker (Tansu, Kafka protocol, in memory: a restart\n"
        "loses topics and messages). It listens on EVENTLAKE_KAFKA_BOOTSTRAP.",
        formatter_class=_RAW,
        epilog="examples:\n  eventlake broker start\n  eventlake broker status\n"
        "  eventlake broker stop\n  eventlake broker start --bootstrap 127.0.0.1:19092",
    )
    actions = broker.add_subparsers(dest="action", metavar="ACTION", required=True)
    state = argparse.ArgumentParser(add_help=False)
    state.add_argument(
        "--state-dir",
        type=Path,
        default=Path(".eventlake"),
        metavar="DIR",
        help="where the pid file and the broker log live (default: ./.eventlake)",
    )
    start = actions.add_parser(
        "start",
        parents=[parent, state],
        help="start the broker in the background and create the topics",
        description="Start the broker in the background (idempotent) and create the missing\n"
        "topics of EVENTLAKE_TOPICS.",
    )
    start.add_argument(
        "--partitions", type=positive_int, default=6, help="partitions per new topic (default 6)"
    )
    start.set_defaults(handler=_broker_start)
    stop = actions.add_parser(
        "stop", parents=[parent, state], help="stop the broker (SIGTERM, then SIGKILL)"
    )
    stop.set_defaults(handler=_broker_stop)
    status = actions.add_parser(
        "status",
        parents=[parent, state],
        help="is the broker up; its topics, partitions and messages (exit 1 when down)",
    )
    status.set_defaults(handler=_broker_status)


def _broker_start(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.tools import broker

    pid = broker.start(settings, state_dir=args.state_dir, partitions=args.partitions)
    print(f"broker running on {settings.kafka_bootstrap} (pid {pid}); topics: "
          f"{', '.join(settings.topics)}")  # fmt: skip
    return 0


def _broker_stop(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.tools import broker

    stopped = broker.stop(state_dir=args.state_dir)
    print("broker stopped" if stopped else f"no broker started from {args.state_dir} is running")
    return 0


def _broker_status(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.tools import broker

    status = broker.status(settings, state_dir=args.state_dir)
    pid = "not started by eventlake" if status.pid is None else f"pid {status.pid}"
    print(f"broker {status.bootstrap}: up ({pid})")
    for topic, partitions in sorted(status.topics.items()):
        print(f"  {topic}: {partitions} partitions, {status.messages[topic]} messages")
    return 0


# --- simulate -----------------------------------------------------------------------------


def _register_simulate(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "simulate",
        parents=[parent],
        formatter_class=_RAW,
        help="produce realistic traffic from a seeded model of users and sessions",
        description="Produce realistic traffic from a seeded model of users and sessions:\n"
        "signups, logins, page and product views, carts, orders and logouts, with knobs for\n"
        "duplicate, late, out-of-order and malformed messages. The topics must exist\n"
        "(`eventlake broker start` creates them).",
        epilog="examples:\n"
        "  eventlake simulate --count 200000 --days 30 --seed 7\n"
        "  eventlake simulate --count 0 --rate 50          # a steady live stream, Ctrl-C stops\n"
        "  eventlake simulate --count 10000 --duplicates 0.02 --late 0.01 --out-of-order 0.05 "
        "--malformed 0.01",
    )
    p.add_argument(
        "--count",
        type=count,
        default=10_000,
        help="messages to produce, faulty ones included (0 = forever; default 10000)",
    )
    p.add_argument(
        "--rate",
        type=non_negative,
        default=0.0,
        help="messages per second (0 = as fast as possible; default 0)",
    )
    p.add_argument(
        "--days",
        type=non_negative,
        default=0.0,
        help="spread event times over the last DAYS days (0 = live timestamps)",
    )
    p.add_argument(
        "--users",
        type=positive_int,
        default=2_000,
        help="users existing at the start (default 2000)",
    )
    p.add_argument("--seed", type=int, default=None, help="random seed (default: a fresh one)")
    p.add_argument(
        "--duplicates",
        type=fraction,
        default=0.0,
        help="fraction of events sent twice (same event_id)",
    )
    p.add_argument(
        "--late",
        type=fraction,
        default=0.0,
        help="fraction of events with a timestamp 1-30 days in the past",
    )
    p.add_argument(
        "--out-of-order",
        type=fraction,
        default=0.0,
        help="fraction of messages held back up to 50 messages",
    )
    p.add_argument(
        "--malformed",
        type=fraction,
        default=0.0,
        help="fraction of messages that break the wire format (every rejection code)",
    )
    p.add_argument(
        "--personal-data",
        action="store_true",
        help="signups carry an email and logins an ip (sealed at ingest with a privacy key)",
    )
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress bar (default: when --count > 0 and stderr is a terminal)",
    )
    p.set_defaults(handler=_simulate)  # fmt: skip


def _simulate(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.simulator import SimulationOptions, simulate

    options = SimulationOptions(
        count=args.count,
        rate=args.rate,
        days=args.days,
        users=args.users,
        seed=args.seed,
        duplicates=args.duplicates,
        late=args.late,
        out_of_order=args.out_of_order,
        malformed=args.malformed,
        personal_data=args.personal_data,
    )
    with stop_on_signals() as stop:
        stats = simulate(settings, options, progress=args.progress, stop_event=stop)
    print(stats.summary())
    return 0


def _status(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.tools import status_report

    if args.topic_pattern is not None:
        settings = dataclasses.replace(settings, topic_pattern=args.topic_pattern)
    from ingest.tools import status_alerts

    report = status_report.collect(settings)
    text = status_alerts.prometheus_text(report) if args.format == "prometheus" else None
    print(text if text is not None else status_report.render(report), end="" if text else "\n")
    failed = status_alerts.breaches(report, max_lag=args.max_lag, max_staleness=args.max_staleness)
    for line in failed:
        print(f"eventlake status: {line}", file=sys.stderr)
    if report.broker_error is not None:
        print(f"eventlake status: broker down: {report.broker_error}", file=sys.stderr)
    return 1 if failed or report.broker_error is not None else 0


def _non_negative_int(text: str) -> int:
    """Parses a whole number >= 0 for argparse (a usage error otherwise)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative")
    return value
