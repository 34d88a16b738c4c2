"""How the dashboard reads a table: latest or as of a moment, days pruned, errors with a name.

Every page query collects through here, so time travel ("as of") and the error handling are the
same everywhere. No Streamlit.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

import polars as pl

from eventlake import lake
from eventlake.catalog import TableSpec
from eventlake.errors import LakeError
from eventlake.settings import Settings


def scan_days(
    settings: Settings,
    spec: TableSpec,
    first: date,
    last: date,
    as_of: datetime | None = None,
) -> pl.LazyFrame:
    """Returns the table's rows whose day column lies in [first, last] (partitions pruned)."""
    if spec.day_column is None:
        raise ValueError(f"{spec.name} has no day column")
    day = pl.col(spec.day_column)
    return lake.scan(settings, spec, version=as_of).filter(day.is_between(first, last))


def collect(spec: TableSpec, frame: pl.LazyFrame) -> pl.DataFrame:
    """Returns `frame` collected; a failed read raises `LakeError` naming the table."""
    try:
        return frame.collect()
    except (lake.DeltaError, pl.exceptions.PolarsError, OSError) as err:
        first_line = (str(err).splitlines() or [type(err).__name__])[0]
        raise LakeError(f"{spec.name}: read failed: {first_line}") from err


def collect_all(specs: Sequence[TableSpec], frames: Sequence[pl.LazyFrame]) -> list[pl.DataFrame]:
    """Returns every frame collected in parallel; a failure raises `LakeError` naming the tables."""
    try:
        return pl.collect_all(list(frames))
    except (lake.DeltaError, pl.exceptions.PolarsError, OSError) as err:
        names = ", ".join(dict.fromkeys(spec.name for spec in specs))
        first_line = (str(err).splitlines() or [type(err).__name__])[0]
        raise LakeError(f"{names}: read failed: {first_line}") from err


def history_time(entry: dict[str, Any]) -> datetime | None:
    """Returns when a commit-history entry of a table was committed (None: no timestamp)."""
    millis = entry.get("timestamp")
    return None if millis is None else datetime.fromtimestamp(int(millis) / 1000, tz=UTC)


def commit_time(settings: Settings, spec: TableSpec, version: int) -> datetime | None:
    """Returns when `version` of the table was committed (None: no such version)."""
    table = lake.open_table(settings, spec)
    if table is None or not 0 <= version <= table.version():
        return None
    # Read from the newest version down: on a handle loaded at an older version, delta-rs
    # (1.6) numbers the history from that version but returns the newest commits.
    entries = lake.history(table, spec, table.version() - version + 1)
    found = [h for h in entries if h.get("version") == version]
    return history_time(found[0]) if found else None


def version_at(settings: Settings, spec: TableSpec, as_of: datetime | None) -> int | None:
    """Returns the table version a read as of `as_of` sees: its newest when None (None: the
    table does not exist)."""
    table = lake.open_table(settings, spec, version=as_of)
    if table is None:
        return None
    return table.version()


_MEMO: OrderedDict[tuple[object, ...], pl.DataFrame] = OrderedDict()
_MEMO_LOCK = threading.Lock()  # sessions run in threads of one server process
MEMO_SIZE = 16


def versioned(
    settings: Settings,
    spec: TableSpec,
    as_of: datetime | None,
    key: tuple[object, ...],
    compute: Callable[[], pl.LazyFrame],
) -> pl.DataFrame:
    """Returns `compute()` collected, remembered for the table version it read.

    A Delta version never changes, so a result derived from one version of `spec` alone stays
    right until the table moves on; then the key changes. For reads that several queries of a
    page repeat (a segment's users, the counted orders). The newest few results are kept.
    """
    version = version_at(settings, spec, as_of)
    memo_key = (settings.lake_root, spec.name, version, *key)
    with _MEMO_LOCK:
        if memo_key in _MEMO:
            _MEMO.move_to_end(memo_key)
            return _MEMO[memo_key]
    found = collect(spec, compute())  # outside the lock: two sessions may both compute it
    with _MEMO_LOCK:
        _MEMO[memo_key] = found
        while len(_MEMO) > MEMO_SIZE:
            _MEMO.popitem(last=False)
    return found


def clear_memo() -> None:
    """Forgets every `versioned` result."""
    with _MEMO_LOCK:
        _MEMO.clear()
