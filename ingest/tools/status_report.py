"""`eventlake status`: how far bronze is behind Kafka, dead letters, and how fresh each table is.

Lake facts come from the Delta log (txn versions, history), Kafka facts from the broker; when the
broker is down the lake half is still reported.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import polars as pl

from eventlake import lake
from eventlake.catalog import BRONZE_DEAD_LETTERS, BRONZE_EVENTS, BRONZE_INGEST_BATCHES, TABLES
from eventlake.errors import BrokerUnavailable
from eventlake.settings import Settings
from ingest.kafka import cluster
from ingest.kafka.cluster import TopicPartitionKey
from ingest.write import offsets

_PROBE_PARTITIONS = 256  # broker down: look for txn versions of partitions 0..255


@dataclass(frozen=True)
class PartitionStatus:
    """One topic-partition: the last offset in bronze/events, Kafka's end, the lag between."""

    topic: str
    partition: int
    bronze_offset: int | None  # None: bronze holds nothing of it
    kafka_end: int | None  # None: the broker is down
    last_commit: datetime | None = None  # the last batch that moved it (bronze/ingest_batches)

    @property
    def lag(self) -> int | None:
        """Messages in Kafka not yet in bronze (None when unknown)."""
        if self.kafka_end is None:
            return None
        done = -1 if self.bronze_offset is None else self.bronze_offset
        return max(0, self.kafka_end - done - 1)


@dataclass(frozen=True)
class TableStatus:
    """One Delta table of the catalog that exists: its version and last commit."""

    name: str
    version: int
    last_commit: datetime


@dataclass(frozen=True)
class Status:
    """Everything `eventlake status` prints."""

    bootstrap: str
    lake_root: str
    broker_error: str | None  # None: the broker answered
    partitions: list[PartitionStatus]
    dead_letters: dict[str, int] = field(default_factory=dict)  # error code -> rows
    tables: list[TableStatus] = field(default_factory=list)


def collect(settings: Settings) -> Status:
    """Returns the status of the settings' topics and lake (never raises for a down broker)."""
    broker_error = None
    ends: dict[TopicPartitionKey, int] = {}
    commits = _partition_commits(settings)
    try:
        if settings.topic_pattern is not None:
            partition_counts = cluster.matching_topics(settings, settings.topic_pattern)
            topics: list[str] = sorted(partition_counts)
        else:
            partition_counts = cluster.list_topics(settings)
            topics = list(settings.topics)
        keys = [(t, p) for t in topics for p in range(partition_counts.get(t, 0))]
        ends = cluster.end_offsets(settings, keys)
    except BrokerUnavailable as err:
        broker_error = str(err)
        keys = _known_partitions(settings, commits)
    done = offsets.txn_versions(settings, BRONZE_EVENTS, keys)
    partitions = [
        PartitionStatus(
            t,
            p,
            None if done[(t, p)] == offsets.NONE else done[(t, p)],
            ends.get((t, p)),
            commits.get((t, p)),
        )
        for t, p in keys
        if broker_error is None or done[(t, p)] != offsets.NONE
    ]
    return Status(
        bootstrap=settings.kafka_bootstrap,
        lake_root=settings.lake_root,
        broker_error=broker_error,
        partitions=partitions,
        dead_letters=_dead_letters_by_code(settings),
        tables=_tables(settings),
    )


def _known_partitions(
    settings: Settings, commits: dict[TopicPartitionKey, datetime]
) -> list[TopicPartitionKey]:
    """Returns the partitions to look up with the broker down: those of the settings' topics
    (or pattern) that bronze/ingest_batches has seen, and partitions 0..255 of listed topics."""
    if settings.topic_pattern is not None:
        regex = re.compile(settings.topic_pattern)
        return sorted(key for key in commits if regex.fullmatch(key[0]))
    probed = {(t, p) for t in settings.topics for p in range(_PROBE_PARTITIONS)}
    return sorted(probed | {key for key in commits if key[0] in settings.topics})


def _partition_commits(settings: Settings) -> dict[TopicPartitionKey, datetime]:
    """Returns when each partition was last moved by a batch, from bronze/ingest_batches."""
    ranges = pl.List(
        pl.Struct({"topic": pl.String, "partition": pl.Int64, "first": pl.Int64, "last": pl.Int64})
    )
    rows = (
        lake.scan(settings, BRONZE_INGEST_BATCHES)
        .select("committed_at", pl.col("offset_ranges").str.json_decode(ranges))
        .explode("offset_ranges")
        .unnest("offset_ranges")
        .drop_nulls("topic")
        .group_by("topic", "partition")
        .agg(pl.col("committed_at").max())
        .collect()
    )
    return {(t, int(p)): moment for t, p, moment in rows.iter_rows()}


def _dead_letters_by_code(settings: Settings) -> dict[str, int]:
    counts = (
        lake.scan(settings, BRONZE_DEAD_LETTERS)
        .group_by("error_code")
        .agg(pl.len().alias("rows"))
        .sort("error_code")
        .collect()
    )
    return dict(counts.iter_rows())


def _tables(settings: Settings) -> list[TableStatus]:
    found = []
    for spec in TABLES:
        table = lake.open_table(settings, spec)
        if table is None:
            continue
        (last,) = table.history(limit=1)
        moment = datetime.fromtimestamp(last["timestamp"] / 1000, UTC)
        found.append(TableStatus(spec.name, table.version(), moment))
    return found


def render(status: Status, *, now: datetime | None = None) -> str:
    """Returns the status as aligned plain-text tables."""
    now = now or datetime.now(UTC)
    broker = "up" if status.broker_error is None else f"DOWN ({status.broker_error})"
    lines = [f"broker  {status.bootstrap}: {broker}", f"lake    {status.lake_root}", ""]
    rows = [
        (f"{p.topic}/{p.partition}", _show(p.bronze_offset), _show(p.kafka_end), _show(p.lag),
         "-" if p.last_commit is None else _age((now - p.last_commit).total_seconds()))
        for p in status.partitions
    ]  # fmt: skip
    if rows:
        lags = [p.lag for p in status.partitions]
        total = "-" if any(lag is None for lag in lags) else str(sum(lag or 0 for lag in lags))
        rows.append(("total", "", "", total, ""))
        headers = ("partition", "bronze offset", "kafka end", "lag", "last commit")
        lines += _table(headers, rows, right=(1, 2, 3, 4))
    else:
        lines.append("no partitions: nothing ingested yet and the broker is unreachable")
    dead = ", ".join(f"{code}={n}" for code, n in status.dead_letters.items()) or "none"
    lines += ["", f"dead letters: {dead}", ""]
    if status.tables:
        table_rows = [
            (t.name, str(t.version), t.last_commit.strftime("%Y-%m-%d %H:%M:%SZ"),
             _age((now - t.last_commit).total_seconds()))
            for t in status.tables
        ]  # fmt: skip
        lines += _table(("table", "version", "last commit", "age"), table_rows, right=(1, 3))
    else:
        lines.append("no tables yet (run `eventlake ingest`)")
    return "\n".join(lines)


def _show(value: int | None) -> str:
    return "-" if value is None else str(value)


def _age(seconds: float) -> str:
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"


def _table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], *, right: Sequence[int] = ()
) -> list[str]:
    widths = [max(len(str(r[i])) for r in (headers, *rows)) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return [line(headers), *(line(r) for r in rows)]
