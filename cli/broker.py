"""the bundled local Kafka broker (start, stop, status)

The bundled local broker (Tansu, Kafka protocol, in memory: a restart
loses topics and messages). It listens on EVENTLAKE_KAFKA_BOOTSTRAP.

examples:
  eventlake broker start
  eventlake broker status
  eventlake broker stop
  eventlake broker start --bootstrap 127.0.0.1:19092
"""

# `eventlake broker start|stop|status`. The docstrings above and of the handlers are the --help
# text; the broker module is imported by the handlers, so `--help` stays fast.

from __future__ import annotations

import argparse
from pathlib import Path

from cli.args import command, command_group, positive_int
from eventlake.settings import Settings


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    """Adds `broker start|stop|status` to the `eventlake` parser."""
    actions = command_group(sub, "broker", __doc__)
    state = argparse.ArgumentParser(add_help=False)
    state.add_argument(
        "--state-dir",
        type=Path,
        default=Path(".eventlake"),
        metavar="DIR",
        help="where the pid file and the broker log live (default: ./.eventlake)",
    )
    start = command(actions, "start", _broker_start, parent, state)
    start.add_argument(
        "--partitions", type=positive_int, default=6, help="partitions per new topic (default 6)"
    )
    command(actions, "stop", _broker_stop, parent, state)
    command(actions, "status", _broker_status, parent, state)


def _broker_start(args: argparse.Namespace, settings: Settings) -> int:
    """start the broker in the background and create the topics

    Start the broker in the background (idempotent) and create the missing
    topics of EVENTLAKE_TOPICS.
    """
    from ingest.tools import broker

    pid = broker.start(settings, state_dir=args.state_dir, partitions=args.partitions)
    print(f"broker running on {settings.kafka_bootstrap} (pid {pid}); topics: "
          f"{', '.join(settings.topics)}")  # fmt: skip
    return 0


def _broker_stop(args: argparse.Namespace, settings: Settings) -> int:
    """stop the broker (SIGTERM, then SIGKILL)"""
    from ingest.tools import broker

    stopped = broker.stop(state_dir=args.state_dir)
    print("broker stopped" if stopped else f"no broker started from {args.state_dir} is running")
    return 0


def _broker_status(args: argparse.Namespace, settings: Settings) -> int:
    """is the broker up; its topics, partitions and messages (exit 1 when down)"""
    from ingest.tools import broker

    status = broker.status(settings, state_dir=args.state_dir)
    pid = "not started by eventlake" if status.pid is None else f"pid {status.pid}"
    print(f"broker {status.bootstrap}: up ({pid})")
    for topic, partitions in sorted(status.topics.items()):
        print(f"  {topic}: {partitions} partitions, {status.messages[topic]} messages")
    return 0
