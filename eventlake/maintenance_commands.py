"""Placeholder: the subcommands of this module are being written."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    """Adds no subcommand yet."""
