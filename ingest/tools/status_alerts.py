"""`eventlake status` for machines: thresholds to alert on, and Prometheus text exposition.

Freshness of a read model is measured against the event log, not the clock: a silver or gold
table is *stale* by how long the last ingested batch (bronze/ingest_batches) is newer than its
own last commit. A quiet lake (no new events) is never stale, and the nightly maintenance
commits of bronze do not count as new data.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from eventlake.catalog import BY_NAME
from ingest.tools.status_report import Status

READ_MODEL_LAYERS = ("silver", "gold")


def last_ingested(status: Status) -> datetime | None:
    """Returns when the last batch of events moved any partition (None: never)."""
    moments = [p.last_commit for p in status.partitions if p.last_commit is not None]
    return max(moments) if moments else None


def staleness(status: Status) -> dict[str, float]:
    """Returns, per silver and gold table, the seconds by which the last ingested batch is newer
    than the table's last commit (0 when the table has caught up)."""
    newest = last_ingested(status)
    if newest is None:
        return {}
    return {
        t.name: max(0.0, (newest - t.last_commit).total_seconds())
        for t in status.tables
        if t.name in BY_NAME and BY_NAME[t.name].layer in READ_MODEL_LAYERS
    }


def breaches(
    status: Status, *, max_lag: int | None = None, max_staleness: float | None = None
) -> list[str]:
    """Returns one line per threshold exceeded: the total lag over `max_lag` messages, a read
    model staler than `max_staleness` seconds."""
    found = []
    if max_lag is not None and status.broker_error is None:  # a down broker fails on its own
        total = sum(p.lag or 0 for p in status.partitions)
        if total > max_lag:
            worst = max(status.partitions, key=lambda p: p.lag or 0)
            found.append(
                f"lag {total} messages > {max_lag} (worst {worst.topic}/{worst.partition}: "
                f"{worst.lag})"
            )
    if max_staleness is not None:
        for name, seconds in sorted(staleness(status).items()):
            if seconds > max_staleness:
                found.append(
                    f"{name} is {seconds:.0f} s behind the event log > {max_staleness:g} s"
                )
    return found


def prometheus_text(status: Status) -> str:
    """Returns the status in Prometheus text exposition format (for node_exporter's textfile
    collector, or any scraper of a file)."""
    lines: list[str] = []
    _family(lines, "eventlake_broker_up", "gauge", "1 when the broker answered",
            [("", 1 if status.broker_error is None else 0)])  # fmt: skip
    _family(lines, "eventlake_partition_lag", "gauge", "Messages in Kafka not yet in bronze",
            [(_labels(topic=p.topic, partition=p.partition), p.lag)
             for p in status.partitions if p.lag is not None])  # fmt: skip
    _family(lines, "eventlake_partition_bronze_offset", "gauge",
            "Last offset of record in bronze/events",
            [(_labels(topic=p.topic, partition=p.partition), p.bronze_offset)
             for p in status.partitions if p.bronze_offset is not None])  # fmt: skip
    _family(lines, "eventlake_dead_letters", "gauge", "Rows in bronze/dead_letters, by code",
            [(_labels(code=code), n) for code, n in status.dead_letters.items()])  # fmt: skip
    _family(lines, "eventlake_table_version", "gauge", "Delta version of each table",
            [(_labels(table=t.name), t.version) for t in status.tables])  # fmt: skip
    _family(lines, "eventlake_table_last_commit_timestamp_seconds", "gauge",
            "Unix time of each table's last commit",
            [(_labels(table=t.name), t.last_commit.timestamp()) for t in status.tables])  # fmt: skip
    _family(lines, "eventlake_table_staleness_seconds", "gauge",
            "Seconds the last ingested batch is newer than the read model's last commit",
            [(_labels(table=name), s) for name, s in staleness(status).items()])  # fmt: skip
    return "\n".join(lines) + "\n"


def _labels(**labels: object) -> str:
    inner = ",".join(
        f'{k}="{str(v).replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
        for k, v in labels.items()
    )
    return "{" + inner + "}"


def _family(
    lines: list[str], name: str, kind: str, help_text: str, samples: Iterable[tuple[str, float]]
) -> None:
    lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    lines += [f"{name}{labels} {value:g}" if isinstance(value, float) else f"{name}{labels} {value}"
              for labels, value in samples]  # fmt: skip
