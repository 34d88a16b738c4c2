"""The one set of argument types of the `eventlake` command, the one way to add a subcommand
(or a group of them) with its handler and its text (the handler's docstring), and stopping on
SIGINT/SIGTERM.

A bad flag value is a usage error: one line on stderr, exit code 2.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import math
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from types import FrameType
from typing import TYPE_CHECKING, NamedTuple

from eventlake.settings import Settings, check_topic_pattern

if TYPE_CHECKING:  # the catalog (and Polars with it) loads when a table is parsed
    from eventlake.catalog import TableSpec

# What runs a subcommand: (its parsed flags, the settings) -> the exit code.
Handler = Callable[[argparse.Namespace, Settings], int]


class HelpFormatter(argparse.HelpFormatter):
    """Prints a description (or the examples) written with line breaks as written, one example a
    line; one written without is wrapped to the terminal."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text:
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def command(
    sub: argparse._SubParsersAction, name: str, handler: Handler, *parents: argparse.ArgumentParser
) -> argparse.ArgumentParser:
    """Adds the subcommand `name`, with the flags of `parents`, that `handler` runs; returns its
    parser, for its own flags. The handler's docstring is the command's text (`CommandText`)."""
    p = _parser(sub, name, inspect.getdoc(handler), parents)
    p.set_defaults(handler=handler)
    return p


def command_group(
    sub: argparse._SubParsersAction, name: str, doc: str | None
) -> argparse._SubParsersAction:
    """Adds `name`, a group of subcommands (`eventlake NAME ACTION`) whose text is `doc` (the
    module's docstring, as `CommandText` reads it); returns where to add them with `command`."""
    group = _parser(sub, name, doc, ())
    return group.add_subparsers(dest="action", metavar="ACTION", required=True)


def _parser(
    sub: argparse._SubParsersAction,
    name: str,
    doc: str | None,
    parents: Sequence[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    text = CommandText.of(name, doc)
    return sub.add_parser(
        name,
        parents=list(parents),
        help=text.help,
        description=text.description,
        epilog=text.examples,
        formatter_class=HelpFormatter,
    )


class CommandText(NamedTuple):
    """What `--help` says of a command, all written in one docstring: its first line is the
    one-line help of the command list; after a blank line, the paragraphs of the description;
    last, from a line `examples:` (or `example:`) on, the examples, printed after the flags.
    Lines are printed as written (`HelpFormatter`)."""

    help: str
    description: str | None
    examples: str | None

    @classmethod
    def of(cls, name: str, doc: str | None) -> CommandText:
        """Returns the text of the command `name` written in `doc`.

        Raises:
            ValueError: `doc` is missing, or does not open with one line then a blank line.
        """
        lines = inspect.cleandoc(doc or "").splitlines()
        if not lines or not lines[0].strip() or (len(lines) > 1 and lines[1].strip()):
            raise ValueError(
                f"command {name!r}: its docstring must open with one line of help (then a "
                "blank line, the description and the examples)"
            )
        rest = lines[2:]
        cut = next((i for i, x in enumerate(rest) if x in ("example:", "examples:")), len(rest))
        description = "\n".join(rest[:cut]).strip()
        examples = "\n".join(rest[cut:]).strip()
        return cls(lines[0].strip(), description or None, examples or None)


def int_at_least(low: int) -> Callable[[str], int]:
    """Returns an argparse type: a whole number >= `low`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {text}")
        return value

    return parse


def float_in(
    low: float, high: float = math.inf, *, low_open: bool = False
) -> Callable[[str], float]:
    """Returns an argparse type: a number between `low` (or above, when open) and `high`."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
        if not (low < value if low_open else low <= value) or not value <= high:  # nan too
            bounds = f"{'>' if low_open else '>='} {low:g}" + (
                f" and <= {high:g}" if high < math.inf else ""
            )
            raise argparse.ArgumentTypeError(f"must be {bounds}, got {text}")
        return value

    return parse


count = int_at_least(0)
positive_int = int_at_least(1)
non_negative = float_in(0.0)
positive = float_in(0.0, low_open=True)
fraction = float_in(0.0, 1.0)


def tcp_port(low: int) -> Callable[[str], int]:
    """Returns an argparse type: a TCP port number from `low` to 65535."""

    def parse(text: str) -> int:
        port = int_at_least(0)(text)
        if not low <= port <= 65535:
            raise argparse.ArgumentTypeError(f"must be a TCP port ({low}-65535), got {text}")
        return port

    return parse


def non_negative_int(text: str) -> int:
    """Returns the whole number >= 0 in `text` (an argparse type)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative")
    return value


def day(text: str) -> date:
    """Returns the day in `text`, YYYY-MM-DD (an argparse type)."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def table(text: str) -> TableSpec:
    """Returns the catalog's table named `text` (an argparse type)."""
    from eventlake.catalog import BY_NAME

    if text not in BY_NAME:
        raise argparse.ArgumentTypeError(f"no table {text!r}; see `eventlake tables`")
    return BY_NAME[text]


def topic_pattern(text: str) -> str:
    """Returns `text` when it is a valid topic pattern (an argparse type)."""
    try:
        return check_topic_pattern(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def topic(text: str) -> str:
    """Returns `text` when it is a valid Kafka topic name (an argparse type)."""
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,249}", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a Kafka topic name")
    return text


@contextlib.contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """Yields an event that SIGINT or SIGTERM sets (a second SIGINT interrupts at once)."""
    stop = threading.Event()

    def handle(signum: int, frame: FrameType | None) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        print(f"\n{signal.Signals(signum).name}: stopping cleanly...", file=sys.stderr)
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
