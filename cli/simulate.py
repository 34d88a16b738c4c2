"""`eventlake simulate`: realistic traffic from a seeded model of users and sessions.

The simulator (and Kafka) are imported by the handler, so `--help` stays fast.
"""

from __future__ import annotations

import argparse

from cli.args import command, count, fraction, non_negative, positive_int, stop_on_signals
from eventlake.settings import Settings


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    """Adds `simulate` to the `eventlake` parser."""
    p = command(sub, "simulate", _simulate, parent)
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


def _simulate(args: argparse.Namespace, settings: Settings) -> int:
    """produce realistic traffic from a seeded model of users and sessions

    Produce realistic traffic from a seeded model of users and sessions:
    signups, logins, page and product views, carts, orders and logouts, with knobs for
    duplicate, late, out-of-order and malformed messages. The topics must exist
    (`eventlake broker start` creates them).

    examples:
      eventlake simulate --count 200000 --days 30 --seed 7
      eventlake simulate --count 0 --rate 50          # a steady live stream, Ctrl-C stops
      eventlake simulate --count 10000 --duplicates 0.02 --late 0.01 --out-of-order 0.05 --malformed 0.01
    """
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
