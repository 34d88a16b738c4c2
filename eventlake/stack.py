"""`eventlake up`: the whole local stack in one command (placeholder until wired)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser("up", parents=[parent], help="run the whole local stack")
    p.set_defaults(handler=lambda args, settings: 1)
