"""Delta Lake I/O for every part: open, create, scan, append with offsets, replace a day range.

Everything addresses tables through the catalog (`TableSpec`) and the settings' lake root, so
the same code runs on a local folder or object storage. The only module that imports deltalake
(tests/test_architecture.py): the others use the handle type (`DeltaTable`), the errors
(`CommitFailedError`, `DeltaError`) and the helpers below from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import polars as pl
import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake
from deltalake.exceptions import (
    CommitFailedError,
    DeltaError,
    DeltaProtocolError,
    SchemaMismatchError,
    TableNotFoundError,
)
from deltalake.fs import DeltaStorageHandler
from pyarrow.fs import FileType

from eventlake.catalog import TableSpec
from eventlake.errors import LakeError
from eventlake.settings import Settings

TABLE_PROPERTIES = {"delta.checkpointInterval": "20"}
EVENT_DATES_KEY = "eventlake.event_dates"  # commit metadata: the event dates a commit touched
CAUSE_KEY = "eventlake.cause"  # commit metadata: why rows were appended other than by ingesting

# the Delta vocabulary the other modules use through this one
__all__ = ["CommitFailedError", "DeltaError", "DeltaTable"]


def commit_properties(
    metadata: Mapping[str, str], *, app_id: str | None = None, version: int | None = None
) -> CommitProperties:
    """Returns a commit's properties: its metadata, and the `txn` (app_id, version) if given."""
    txns = None if app_id is None or version is None else {app_id: version}
    return _transactions(txns, metadata)


def overwrite_where(table: DeltaTable, frame: pl.DataFrame, predicate: str) -> None:
    """Replaces the rows of `table` matching the SQL `predicate` by `frame`, in one commit."""
    write_deltalake(table, frame, mode="overwrite", predicate=predicate)


def file_sizes(settings: Settings, spec: TableSpec, paths: list[str]) -> dict[str, int]:
    """Returns the size of each of `paths` (relative to the table) that exists in storage."""
    if not paths:
        return {}
    storage = DeltaStorageHandler(table_uri(settings, spec), dict(settings.storage_options))
    return {
        info.path: int(info.size or 0)
        for info in storage.get_file_info(paths)
        if info.type == FileType.File
    }


def table_uri(settings: Settings, spec: TableSpec) -> str:
    """Returns the table's location: the lake root joined with the table name (bronze and
    dim tables under `settings.log_root` instead, when that is set)."""
    root = settings.log_root if settings.log_root and spec.layer in ("bronze", "dim") else None
    return f"{root or settings.lake_root}/{spec.name}"


def _options(settings: Settings) -> dict[str, str] | None:
    return dict(settings.storage_options) or None


def _first_line(err: BaseException) -> str:
    """Returns the first line of an error (delta-rs may append a multi-line Rust backtrace)."""
    return next((line.strip() for line in str(err).splitlines() if line.strip()), repr(err))


def _conform(spec: TableSpec, frame: pl.DataFrame) -> pl.DataFrame:
    """Returns `frame` with exactly the table's columns, in order, cast to its schema."""
    return frame.select(spec.schema.names()).cast(spec.schema)


def open_table(
    settings: Settings, spec: TableSpec, *, version: int | datetime | None = None
) -> DeltaTable | None:
    """Returns the Delta table, or None when it does not exist yet.

    Args:
        version: load the table as of this Delta version, or as of this moment (time travel).

    Raises:
        LakeError: the table cannot be opened, or has no such version.
    """
    try:
        table = DeltaTable(table_uri(settings, spec), storage_options=_options(settings))
    except TableNotFoundError:
        return None
    except (DeltaError, OSError) as err:
        raise LakeError(
            f"{spec.name}: cannot open {table_uri(settings, spec)}: {_first_line(err)}"
        ) from err
    if version is not None:
        try:
            table.load_as_version(version)
        except (DeltaError, OSError, ValueError) as err:
            at = "at " if isinstance(version, datetime) else ""
            raise LakeError(f"{spec.name}: no version {at}{version}: {_first_line(err)}") from err
    return table


def ensure_table(
    settings: Settings, spec: TableSpec, *, properties: Mapping[str, str] | None = None
) -> DeltaTable:
    """Returns the Delta table, creating it empty (schema, partitioning, properties) if missing.

    Args:
        properties: table properties on top of `TABLE_PROPERTIES`, for a table created here.
    """
    table = open_table(settings, spec)
    if table is not None:
        return table
    try:
        return DeltaTable.create(
            table_uri(settings, spec),
            spec.empty().to_arrow().schema,
            partition_by=list(spec.partition_by) or None,
            mode="ignore",
            configuration={**TABLE_PROPERTIES, **(properties or {})},
            storage_options=_options(settings),
        )
    except (DeltaError, OSError) as err:
        # Two processes creating the table at once: one commit wins, the other fails.
        created = open_table(settings, spec)
        if created is not None:
            return created
        raise LakeError(
            f"{spec.name}: cannot create {table_uri(settings, spec)}: {_first_line(err)}"
        ) from err


def ensure_properties(table: DeltaTable, spec: TableSpec, properties: Mapping[str, str]) -> bool:
    """Returns True when it set `properties` on an existing table that lacked some of them."""
    current = table.metadata().configuration
    if all(current.get(key) == value for key, value in properties.items()):
        return False
    try:
        table.alter.set_table_properties(dict(properties), raise_if_not_exists=False)
    except (DeltaError, OSError) as err:
        raise LakeError(
            f"{spec.name}: setting table properties failed: {_first_line(err)}"
        ) from err
    return True


def refresh(table: DeltaTable, spec: TableSpec) -> DeltaTable:
    """Returns the open table handle `table`, brought up to the table's latest version."""
    try:
        table.update_incremental()
    except (DeltaError, OSError) as err:
        raise LakeError(f"{spec.name}: cannot read the log: {_first_line(err)}") from err
    return table


def scan(
    settings: Settings, spec: TableSpec, *, version: int | datetime | None = None
) -> pl.LazyFrame:
    """Returns a lazy scan of the table (an empty frame of its schema if it does not exist).

    Args:
        version: read the table as of this Delta version, or as of this moment (time travel).
    """
    table = open_table(settings, spec, version=version)
    if table is None:
        return spec.empty().lazy()
    return pl.scan_delta(table)


def txn_of(table: DeltaTable | None, app: str) -> int | None:
    """Returns the txn version of `app` in the table's loaded version (None: never recorded)."""
    if table is None:
        return None
    version = table.transaction_version(app)
    return None if version is None else int(version)


def added_since(
    settings: Settings, spec: TableSpec, table: DeltaTable, version: int
) -> pl.LazyFrame | None:
    """Returns the rows that the commits after `version` added to `table` (at its loaded version).

    Returns None when those rows cannot be told apart: a commit since removed or rewrote files
    (compaction, a delete, retention), or `version` is no longer in the log.
    """
    try:
        before = open_table(settings, spec, version=version)
    except LakeError:
        return None
    if before is None:
        return None
    now, then = _file_paths(table, spec), _file_paths(before, spec)
    if not then <= now:
        return None
    added = now - then
    import pyarrow.dataset as ds  # deferred: it loads pandas (~0.5 s), which no reader needs

    dataset = table.to_pyarrow_dataset()
    fragments = [f for f in dataset.get_fragments() if f.path in added]
    if len(fragments) != len(added):
        return None
    subset = ds.FileSystemDataset(fragments, dataset.schema, dataset.format, dataset.filesystem)
    return pl.scan_pyarrow_dataset(subset).select(spec.schema.names()).cast(spec.schema)


def _file_paths(table: DeltaTable, spec: TableSpec) -> set[str]:
    actions = data_files(table, spec)
    return set(actions.get_column("path").to_list()) if actions.height else set()


def data_files(table: DeltaTable, spec: TableSpec) -> pl.DataFrame:
    """Returns the data files of the table at its loaded version, one row each, from the log:
    `path`, `size_bytes`, `modification_time`, `num_records`, `partition.<column>` and the
    `min.`/`max.` statistics of each column (no data file is read).

    Raises:
        LakeError: the file list cannot be read.
    """
    try:
        return pl.DataFrame(table.get_add_actions(flatten=True))
    except (DeltaError, OSError, ValueError) as err:
        raise LakeError(
            f"{spec.name}: cannot read the file list of version {table.version()}: "
            f"{_first_line(err)}"
        ) from err


def history(table: DeltaTable, spec: TableSpec, limit: int) -> list[dict]:
    """Returns the newest `limit` entries of the table's commit history, newest first.

    Raises:
        LakeError: the history cannot be read.
    """
    try:
        return table.history(limit=limit)
    except (DeltaError, OSError) as err:
        raise LakeError(f"{spec.name}: cannot read the commit history: {_first_line(err)}") from err


def is_permanent(err: LakeError) -> bool:
    """Returns True when retrying the write that raised `err` cannot help: the rows do not fit
    the table's schema, or the table needs a Delta protocol this deltalake does not have."""
    return isinstance(err.__cause__, SchemaMismatchError | DeltaProtocolError)


def overwrite_as_is(
    settings: Settings,
    spec: TableSpec,
    data: pa.Table,
    days: tuple[date, date] | None = None,
) -> None:
    """Overwrites the table, or only its days [first, last], with `data` as it is: its own
    columns and types, not conformed to the catalog's schema (the table is created from `data`
    if missing). For tables built outside the lake and compared with it (bench/)."""
    predicate = None
    if days is not None and spec.day_column is not None:
        predicate = _days_predicate(spec.day_column, *days)
    write_deltalake(
        table_uri(settings, spec),
        data,
        mode="overwrite",
        partition_by=list(spec.partition_by) or None,
        predicate=predicate,
        storage_options=_options(settings),
    )


def _days_predicate(column: str, first: date, last: date) -> str:
    """Returns the SQL predicate of the rows whose `column` lies in [first, last]."""
    return f"{column} >= '{first.isoformat()}' AND {column} <= '{last.isoformat()}'"


def scan_days(settings: Settings, spec: TableSpec, first: date, last: date) -> pl.LazyFrame:
    """Returns the table's rows whose day column lies in [first, last] (partitions pruned)."""
    if spec.day_column is None:
        raise ValueError(f"{spec.name} has no day column")
    return scan(settings, spec).filter(pl.col(spec.day_column).is_between(first, last))


def append(
    settings: Settings,
    spec: TableSpec,
    frame: pl.DataFrame,
    *,
    offsets: Mapping[str, int] | None = None,
    metadata: Mapping[str, str] | None = None,
) -> int:
    """Appends `frame` in one commit and returns the new table version.

    Args:
        offsets: app id -> last offset, recorded as Delta `txn` actions in the same commit.
        metadata: custom commit metadata (string values).
    """
    table = ensure_table(settings, spec)
    return append_to(table, spec, frame, offsets=offsets, metadata=metadata)


class ConcurrentCommit(LakeError):
    """A commit lost to one made since the version it read.

    For an append with offsets: another writer recorded a `txn` of the same app id meanwhile.
    """


def append_to(
    table: DeltaTable,
    spec: TableSpec,
    frame: pl.DataFrame,
    *,
    offsets: Mapping[str, int] | None = None,
    metadata: Mapping[str, str] | None = None,
) -> int:
    """Appends `frame` through an open table handle in one commit; returns the new version.

    The commit is made against the handle's loaded version: commits made since are rebased
    over, unless one of them records a `txn` of an app id in `offsets` (delta-rs then refuses
    the commit, which is what makes the offsets of record a fence between writers).

    Raises:
        ConcurrentCommit: another writer moved one of the `offsets` app ids meanwhile.
        LakeError: the write failed.
    """
    what = f"append of {frame.height} rows"
    return _write(table, spec, frame, what, mode="append", txns=offsets, metadata=metadata)


def _write(
    table: DeltaTable,
    spec: TableSpec,
    frame: pl.DataFrame,
    what: str,
    *,
    txns: Mapping[str, int] | None = None,
    metadata: Mapping[str, str] | None = None,
    **how: Any,
) -> int:
    """Writes `frame`, conformed to the table's schema, in one commit; returns the new version.

    Args:
        how: `mode` ("append", "overwrite") and `predicate` (with "overwrite") of the write.

    Raises:
        ConcurrentCommit: a commit since the handle's version conflicts (a `txn` of `txns`).
        LakeError: the write failed (`what` names it in the message).
    """
    try:
        write_deltalake(
            table,
            _conform(spec, frame),
            partition_by=list(spec.partition_by) or None,
            commit_properties=_transactions(txns, metadata),
            **how,
        )
    except CommitFailedError as err:
        raise ConcurrentCommit(
            f"{spec.name}: {what} lost to a concurrent commit: {_first_line(err)}"
        ) from err
    except (DeltaError, OSError) as err:
        raise LakeError(f"{spec.name}: {what} failed: {_first_line(err)}") from err
    return table.version()


def _transactions(
    versions: Mapping[str, int] | None, metadata: Mapping[str, str] | None = None
) -> CommitProperties:
    return CommitProperties(
        app_transactions=[Transaction(app, version) for app, version in (versions or {}).items()],
        custom_metadata=dict(metadata or {}),
    )


def replace_days(
    settings: Settings,
    spec: TableSpec,
    frame: pl.DataFrame,
    first: date,
    last: date,
    *,
    transactions: Mapping[str, int] | None = None,
    metadata: Mapping[str, str] | None = None,
) -> int:
    """Replaces the rows of days [first, last] with `frame` in one commit; returns the version.

    Args:
        transactions: app id -> version, recorded as Delta `txn` actions in the same commit.
        metadata: custom commit metadata (string values).

    Raises:
        ConcurrentCommit: another writer recorded a `txn` of one of those app ids meanwhile.
        LakeError: the write failed.
    """
    if spec.day_column is None:
        raise ValueError(f"{spec.name} has no day column")
    col = spec.day_column
    outside = frame.filter(~pl.col(col).is_between(first, last))
    if outside.height:
        raise ValueError(f"{spec.name}: {outside.height} rows lie outside {first}..{last}")
    table = ensure_table(settings, spec)
    what, predicate = f"replacing {first}..{last}", _days_predicate(col, first, last)
    return _write(
        table,
        spec,
        frame,
        what,
        mode="overwrite",
        predicate=predicate,
        txns=transactions,
        metadata=metadata,
    )


def replace_all(settings: Settings, spec: TableSpec, frame: pl.DataFrame) -> int:
    """Replaces the whole content of an unpartitioned table with `frame`; returns the version."""
    table = ensure_table(settings, spec)
    _write(table, spec, frame, "overwrite", mode="overwrite")
    return table.version()
