"""Which event days the new commits of bronze/events touched, read from the Delta log.

The ingester records the event dates each commit touched in its commit metadata
(`lake.EVENT_DATES_KEY`), so a sensor learns them from the commit entries alone, without
reading any data file. When that is not possible (first look at the table, more new commits
than a tick may read, a log entry gone or a data-changing commit without the metadata) it
falls back to every event date in the table: slower, but nothing is missed. The same goes
for a table younger than the cursor (recreated). Dead-letter replays record their dates the
same way, with `lake.CAUSE_KEY` = "replay": the days only they touched are told apart.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from eventlake.lake import CAUSE_KEY, EVENT_DATES_KEY, DeltaTable

MAX_COMMITS_PER_TICK = 200  # each entry is one log file read; sensor ticks time out at 60 s

# Operations that change no rows: they never touch an event day.
NO_DATA_OPERATIONS = frozenset(
    {
        "CREATE TABLE",
        "OPTIMIZE",
        "VACUUM START",
        "VACUUM END",
        "SET TBLPROPERTIES",
        "ADD CONSTRAINT",
        "DROP CONSTRAINT",
        "ADD FEATURE",
        "UPDATE FIELD METADATA",
    }
)


@dataclass(frozen=True)
class Touched:
    """The event days that commits up to `version` touched; `everything` when all were taken."""

    version: int
    days: frozenset[date]
    everything: bool = False
    replay_days: frozenset[date] = frozenset()  # days touched by dead-letter replays alone


@dataclass(frozen=True)
class BronzeCursor:
    """A sensor's place in the bronze log: the last version turned into runs, and the days
    touched so far that were not partitions yet (events dated tomorrow), kept until they are."""

    version: int
    pending: tuple[date, ...] = field(default=())

    def to_json(self) -> str:
        """Returns the cursor as compact JSON text."""
        pending = [d.isoformat() for d in sorted(set(self.pending))]
        return json.dumps({"version": self.version, "pending": pending}, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | None) -> BronzeCursor | None:
        """Returns the cursor in `raw`, or None for no cursor (the sensor's first tick).

        An unreadable cursor counts as none: the sensor then takes every day once.
        """
        if not raw:
            return None
        try:
            obj = json.loads(raw)
            return cls(int(obj["version"]), tuple(date.fromisoformat(d) for d in obj["pending"]))
        except (ValueError, KeyError, TypeError):
            return None


def parse_event_dates(text: str) -> set[date]:
    """Returns the dates of a comma-separated `EVENT_DATES_KEY` value (blanks ignored)."""
    return {date.fromisoformat(part.strip()) for part in text.split(",") if part.strip()}


def all_event_days(table: DeltaTable) -> set[date]:
    """Returns every event_date that has data files in the table (from the log, no data read)."""
    days: set[date] = set()
    for partition in table.partitions():
        value = partition.get("event_date")
        if value:
            days.add(date.fromisoformat(str(value)))
    return days


def touched_since(
    table: DeltaTable, after: int | None, *, limit: int = MAX_COMMITS_PER_TICK
) -> Touched:
    """Returns the event days the commits after version `after` touched, up to the latest.

    Args:
        table: bronze/events, freshly loaded.
        after: the last version already handled; None for none (every day is taken).
        limit: the most commit entries to read; more new commits means every day is taken.
    """
    latest = table.version()
    if after == latest:
        return Touched(latest, frozenset())
    # No cursor, too many new commits, or a cursor ahead of the table (it was recreated).
    if after is None or not 0 < latest - after <= limit:
        return Touched(latest, frozenset(all_event_days(table)), everything=True)
    entries = table.history(limit=latest - after)
    found = _days_of_entries(entries, range(after + 1, latest + 1))
    if found is None:
        return Touched(latest, frozenset(all_event_days(table)), everything=True)
    ingested, replayed = found
    return Touched(
        latest, frozenset(ingested | replayed), replay_days=frozenset(replayed - ingested)
    )


def _days_of_entries(
    entries: Iterable[dict], versions: range
) -> tuple[set[date], set[date]] | None:
    """Returns the days the entries of `versions` touched, as (days of ingest commits, days of
    replay commits); None when that cannot be known."""
    by_version = {entry.get("version"): entry for entry in entries}
    days: set[date] = set()
    replayed: set[date] = set()
    for version in versions:
        entry = by_version.get(version)
        if entry is None:  # log entry cleaned up or not returned
            return None
        if EVENT_DATES_KEY in entry:
            try:
                dates = parse_event_dates(str(entry[EVENT_DATES_KEY]))
            except ValueError:
                return None
            (replayed if entry.get(CAUSE_KEY) == "replay" else days).update(dates)
        elif entry.get("operation") not in NO_DATA_OPERATIONS:
            return None
    return days, replayed


def plan_days(
    touched: Iterable[date], pending: Iterable[date], first: date, last: date
) -> tuple[list[date], tuple[date, ...]]:
    """Returns the days to run now (partitions in [first, last]) and the days to keep pending.

    Days after `last` (not partitions yet) stay pending; days before `first` (the start date)
    will never be partitions and are dropped.
    """
    days = set(touched) | set(pending)
    due = sorted(d for d in days if first <= d <= last)
    later = tuple(sorted(d for d in days if d > last and d >= first))
    return due, later
