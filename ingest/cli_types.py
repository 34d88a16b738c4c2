"""What the ingest part's subcommands share: argument types and stopping on SIGINT/SIGTERM.

A bad flag value is a usage error: one line on stderr, exit code 2.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType


def int_at_least(low: int) -> Callable[[str], int]:
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
