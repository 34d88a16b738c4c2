"""The `eventlake` command: parses flags, builds the settings once, and runs a subcommand.

This is the one composition root: each command group is a module of `cli/` with
`register(subparsers, parent)` (heavy imports deferred to the handlers), so `--help` stays fast.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from cli import (
    api,
    broker,
    dead_letters,
    ingest,
    maintain,
    privacy,
    runs,
    simulate,
    status,
    tables,
    up,
)
from eventlake import __version__
from eventlake.errors import ConfigError, EventlakeError
from eventlake.settings import Settings

# Each module defines `register(subparsers, parent)`; every parser it adds with `cli.args.command`
# sets `handler=callable(args, settings) -> int`, and takes its --help text from the handler's
# docstring (a group's, from its module's docstring).
COMMAND_MODULES: tuple[Any, ...] = (
    broker,
    simulate,
    ingest,
    status,
    dead_letters,
    runs,
    maintain,
    tables,
    privacy,
    up,
    api,
)


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr, with exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def settings_parent() -> argparse.ArgumentParser:
    """Returns the parser of the flags every subcommand shares (they override EVENTLAKE_*)."""
    parent = Parser(add_help=False)
    group = parent.add_argument_group("settings (override the EVENTLAKE_* environment)")
    group.add_argument("--lake-root", metavar="PATH", help="lake root (EVENTLAKE_LAKE_ROOT)")
    group.add_argument(
        "--bootstrap",
        metavar="HOST:PORT",
        help="Kafka bootstrap servers (EVENTLAKE_KAFKA_BOOTSTRAP)",
    )
    group.add_argument(
        "--topics", metavar="T1,T2", help="comma-separated topics (EVENTLAKE_TOPICS)"
    )
    group.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return parent


def build_parser() -> argparse.ArgumentParser:
    """Returns the full `eventlake` parser with every part's subcommands."""
    parser = Parser(
        prog="eventlake",
        description="Event-sourced analytics: Kafka -> Delta event log -> Dagster read models "
        "-> Streamlit dashboard.",
    )
    parser.add_argument("--version", action="version", version=f"eventlake {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    parent = settings_parent()
    for module in COMMAND_MODULES:
        module.register(sub, parent)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    topics = None
    if getattr(args, "topics", None):
        topics = tuple(t.strip() for t in args.topics.split(",") if t.strip()) or None
    return Settings.from_env(
        lake_root=getattr(args, "lake_root", None),
        kafka_bootstrap=getattr(args, "bootstrap", None),
        topics=topics,
    )


def tracing_wanted() -> bool:
    """Whether OTEL_* variables are set at all (OpenTelemetry loads only then: --help stays fast)."""
    return any(name.startswith("OTEL_EXPORTER_OTLP") for name in os.environ)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit code (0 ok, 1 failure, 2 usage error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=getattr(args, "log_level", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if tracing_wanted():
        from telemetry import tracing

        tracing.configure(args.command)
        tracing.add_ids_to_logs()
    try:
        settings = _settings(args)
        handler: Any = args.handler
        return int(handler(args, settings) or 0)
    except ConfigError as err:
        print(f"eventlake: {err}", file=sys.stderr)
        return 2
    except EventlakeError as err:
        print(f"eventlake {args.command}: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"eventlake {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
