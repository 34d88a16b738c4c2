"""The traffic simulator: a seeded model of users and sessions, produced to Kafka.

`messages` is the pure stream (tests and benchmarks read it directly); `simulate` produces it.
"""

from __future__ import annotations

from ingest.simulator.run import SimulationStats, simulate
from ingest.simulator.stream import OutMessage, SimulationOptions, messages

__all__ = [
    "OutMessage",
    "SimulationOptions",
    "SimulationStats",
    "messages",
    "simulate",
]
