"""Where an asset's time goes: wall seconds per phase, recorded in its materialization metadata.

An asset laps a `Phases` after each phase of its work (reading, deduplicating, projecting,
writing, checking); the totals go into the `phase_seconds` metadata entry, which the
projection benchmark sums per table (docs/benchmarks.md, "Projections"). A lap is one clock
read: nothing is collected or computed for it.
"""

from __future__ import annotations

import time
from typing import Any

import dagster as dg

PHASE_SECONDS = "phase_seconds"  # the metadata entry: {"phase": seconds, ...}


class Phases:
    """Wall seconds per named phase, summed over repeated laps (chunks of a long range)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.started_ns = time.time_ns()  # wall clock: the start of the asset's span
        self._last = time.perf_counter()

    def lap(self, phase: str) -> None:
        """Adds the time since the previous lap (or since creation) to `phase`."""
        now = time.perf_counter()
        self.seconds[phase] = self.seconds.get(phase, 0.0) + now - self._last
        self._last = now

    def metadata(self) -> dict[str, Any]:
        """Returns the `phase_seconds` metadata entry (seconds rounded to milliseconds)."""
        rounded = {name: round(s, 3) for name, s in self.seconds.items()}
        return {PHASE_SECONDS: dg.MetadataValue.json(rounded)}
