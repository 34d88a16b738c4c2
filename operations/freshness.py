"""Event-to-gold latency, from the lake alone (docs/operations.md, "Event to gold latency").

For the events produced in a recent window (default the last 60 minutes), and for each gold day
table: the time from an event's produce timestamp (bronze `kafka_timestamp`, set by the
producer's Kafka client) to the first commit of that table that counted it. Three facts of the
lake say it, without tracing or Dagster's event log:

1. the bronze version that holds an event: bronze/ingest_batches records, per committed
   micro-batch, its Kafka offset ranges and the Delta version of its bronze/events commit;
2. the bronze version a gold commit counted, per day: every write of a gold day table records
   it in its commit metadata (`eventlake.bronze_versions`, from silver/events' per-day txns;
   assets/day_range.py `reflected_bronze`);
3. when that commit was made: the gold table's Delta history.

An event of day D held by bronze version v is counted by the first commit of the table that
wrote D reflecting a version >= v. Events not counted yet are *pending*. Copies of one event id
count once (the first copy, eventlake/log_rules.py `WINNER_ORDER`); events of days that are not
partitions yet (after today) or before the start date are left out, since no run can count
them yet. The work is bounded by the window: bronze files are skipped by their Delta statistics
on `kafka_timestamp`, and each gold table's history is read back to the window's start only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import polars as pl

from eventlake import lake
from eventlake.catalog import BRONZE_EVENTS, BRONZE_INGEST_BATCHES, GOLD_DAY_TABLES, TableSpec
from eventlake.log_rules import GOLD_BRONZE_KEY, WINNER_ORDER, decode_day_versions
from eventlake.settings import Settings

WINDOW = timedelta(minutes=60)
HISTORY_LIMIT = 2_000  # the most commits `commits_since` reads of one table
TARGET_SECONDS = 60.0  # docs/service-levels.md, "freshness"
# Histogram bucket bounds in seconds (Prometheus `le`); the freshness target is 60 s
# (docs/service-levels.md).
BUCKETS: tuple[float, ...] = (1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 300, 600)
# A batch holding an event is committed after the event was produced; this margin keeps the
# batches of events whose producer's clock runs ahead of the ingester's.
CLOCK_MARGIN = timedelta(minutes=5)
_RANGES = pl.List(
    pl.Struct({"topic": pl.String, "partition": pl.Int64, "first": pl.Int64, "last": pl.Int64})
)


@dataclass(frozen=True)
class TableLatency:
    """The latency of one gold table over the window's events.

    Attributes:
        buckets: per bound of `BUCKETS`, how many counted events took at most that long
            (cumulative, as Prometheus histograms are); `counted` is the +Inf bucket.
        sum_s: the sum of the counted events' latencies.
        p50_s, p99_s, max_s: over the counted events (None: none counted).
        pending: the window's events the table has not counted yet.
        oldest_pending_s: how long ago the oldest pending event was produced (None: none).
    """

    table: str
    counted: int
    buckets: tuple[int, ...]
    sum_s: float
    p50_s: float | None
    p99_s: float | None
    max_s: float | None
    pending: int
    oldest_pending_s: float | None


@dataclass(frozen=True)
class Freshness:
    """Event-to-gold latency of every gold day table over the events produced in
    [since, until)."""

    since: datetime
    until: datetime
    events: int
    tables: tuple[TableLatency, ...]


def measure(
    settings: Settings, *, now: datetime | None = None, window: timedelta = WINDOW
) -> Freshness:
    """Returns the latency of every gold day table for the events produced in the `window`
    before `now` (default: the present), as the lake stood at `now`."""
    until = now or datetime.now(UTC)
    since = until - window
    events = produced(settings, since, until)
    tables = []
    for spec in GOLD_DAY_TABLES:
        commits = gold_commits(settings, spec, since, until)
        tables.append(table_latency(spec.name, latencies(events, commits), until))
    return Freshness(since, until, events.height, tuple(tables))


def produced(settings: Settings, since: datetime, until: datetime) -> pl.DataFrame:
    """One row per event produced in [since, until) and in bronze by `until`: its day, produce
    time (epoch seconds) and the bronze version that holds it (the first copy of an id only;
    days after `until`'s or before the start date left out)."""
    batches = lake.scan(settings, BRONZE_INGEST_BATCHES).filter(
        pl.col("committed_at").is_between(since - CLOCK_MARGIN, until)
    )
    events = (
        lake.scan(settings, BRONZE_EVENTS)
        .filter(
            pl.col("registered"),
            pl.col("kafka_timestamp").is_between(since, until, closed="left"),
            pl.col("event_date").is_between(settings.start_date, until.date()),
        )
        .select(
            "event_id",
            "event_date",
            *WINNER_ORDER,
            produced_s=pl.col("kafka_timestamp").dt.epoch("us") / 1e6,
        )
        .collect()
        .sort(WINNER_ORDER)
        .unique("event_id", keep="first", maintain_order=True)
    )
    return in_bronze_versions(events, batches)


def in_bronze_versions(events: pl.DataFrame, batches: pl.LazyFrame) -> pl.DataFrame:
    """Returns `events` (bronze rows with their Kafka position and `produced_s`) as their day,
    produce time and the bronze version that holds each: the `events_version` of the
    bronze/ingest_batches row whose offset ranges hold its offset (events in none are left out).
    """
    ranges = (
        batches.select("events_version", pl.col("offset_ranges").str.json_decode(_RANGES))
        .explode("offset_ranges")
        .unnest("offset_ranges")
        .rename({"topic": "kafka_topic", "partition": "kafka_partition"})
        .with_columns(pl.col("kafka_partition").cast(pl.Int32))
        .collect()
        .sort("first")
    )
    return (
        events.with_columns(pl.col("kafka_partition").cast(pl.Int32))
        .sort("kafka_offset")
        .join_asof(
            ranges,
            left_on="kafka_offset",
            right_on="first",
            by=["kafka_topic", "kafka_partition"],
            strategy="backward",
            check_sortedness=False,  # sorted above; polars cannot verify it within groups
        )
        .filter(pl.col("kafka_offset") <= pl.col("last"))
        .select("event_date", "produced_s", bronze_version="events_version")
    )


def commits_since(
    settings: Settings, spec: TableSpec, since: datetime, *, limit: int = HISTORY_LIMIT
) -> list[dict[str, object]]:
    """Returns the table's commits made at or after `since`, newest first (none when the table
    does not exist): each the Delta history entry, its custom metadata among its keys, with
    `version` and `timestamp` (a UTC datetime).

    Reads the newest commits in growing pages until one is older than `since`, and at most
    `limit` commits: past that, the oldest commits of the window are left out.
    """
    table = lake.open_table(settings, spec)
    if table is None:
        return []
    page = 64
    while True:
        entries = lake.history(table, spec, min(page, limit))
        oldest = min((int(e.get("timestamp", 0)) for e in entries), default=0)
        if len(entries) < page or page >= limit or oldest < since.timestamp() * 1000:
            break
        page *= 4
    rows = []
    for entry in entries:  # delta-rs lists the newest first
        moment = datetime.fromtimestamp(int(entry.get("timestamp", 0)) / 1000, tz=UTC)
        if moment >= since and entry.get("version") is not None:
            rows.append({**entry, "version": int(entry["version"]), "timestamp": moment})
    return rows


def gold_commits(
    settings: Settings, spec: TableSpec, since: datetime, until: datetime
) -> pl.DataFrame:
    """One row per day each commit of the gold table made in [since, until] wrote: the bronze
    version it reflects for that day and when it was committed (epoch seconds). Commits without
    the metadata (maintenance, writes older than it) are left out."""
    rows = []
    for commit in commits_since(settings, spec, since):
        moment, text = commit["timestamp"], commit.get(GOLD_BRONZE_KEY)
        if not isinstance(moment, datetime) or moment > until or not isinstance(text, str):
            continue
        for first, last, version in decode_day_versions(text):
            rows.append((first, last, version, moment.timestamp()))
    schema = {"first": pl.Date, "last": pl.Date, "bronze_version": pl.Int64,
              "committed_s": pl.Float64}  # fmt: skip
    return (
        pl.DataFrame(rows, schema=schema, orient="row")
        .with_columns(day=pl.date_ranges("first", "last"))
        .explode("day")
        .select("day", "bronze_version", "committed_s")
    )


def latencies(events: pl.DataFrame, commits: pl.DataFrame) -> pl.DataFrame:
    """Each event with `latency_s`: from its produce time to the first commit of its day that
    reflects a bronze version holding it (null: not counted yet)."""
    # Per day, the earliest commit among those reflecting version v or later: a suffix minimum
    # over the commits sorted by version.
    first_at = (
        commits.group_by("day", "bronze_version")
        .agg(pl.col("committed_s").min())
        .sort("day", "bronze_version", descending=[False, True])
        .with_columns(pl.col("committed_s").cum_min().over("day").alias("counted_s"))
        .select("day", "bronze_version", "counted_s")
        .sort("bronze_version")
    )
    joined = events.sort("bronze_version").join_asof(
        first_at,
        on="bronze_version",
        by_left="event_date",
        by_right="day",
        strategy="forward",
        check_sortedness=False,  # sorted above; polars cannot verify it within groups
    )
    return joined.with_columns(latency_s=pl.col("counted_s") - pl.col("produced_s"))


def table_latency(table: str, lat: pl.DataFrame, now: datetime) -> TableLatency:
    """Returns the histogram, quantiles and pending events of one table's `latencies`."""
    counted = lat.get_column("latency_s").drop_nulls()
    pending = lat.filter(pl.col("latency_s").is_null()).get_column("produced_s")
    return TableLatency(
        table=table,
        counted=counted.len(),
        buckets=tuple(int((counted <= bound).sum()) for bound in BUCKETS),
        sum_s=float(counted.sum()),
        p50_s=_quantile(counted, 0.5),
        p99_s=_quantile(counted, 0.99),
        max_s=float(counted.max()) if counted.len() else None,  # type: ignore[arg-type]
        pending=pending.len(),
        oldest_pending_s=now.timestamp() - float(pending.min()) if pending.len() else None,  # type: ignore[arg-type]
    )


def _quantile(values: pl.Series, q: float) -> float | None:
    """Returns the `q` quantile of `values`, an observed value (None: no values)."""
    return float(values.quantile(q, "higher")) if values.len() else None  # type: ignore[arg-type]


def render(fresh: Freshness) -> str:
    """Returns the latencies as a text table, for `eventlake status`."""
    minutes = (fresh.until - fresh.since).total_seconds() / 60
    lines = [
        f"Event to gold, {fresh.events:,} events produced in the last {minutes:g} min "
        "(produce to the first gold commit that counted them):",
        f"  {'table':<28} {'counted':>8} {'p50 s':>7} {'p99 s':>7} {'max s':>7} "
        f"{'pending':>8} {'oldest pending s':>17}",
    ]
    for t in fresh.tables:
        lines.append(
            f"  {t.table:<28} {t.counted:>8,} {_s(t.p50_s):>7} {_s(t.p99_s):>7} "
            f"{_s(t.max_s):>7} {t.pending:>8,} {_s(t.oldest_pending_s):>17}"
        )
    return "\n".join(lines)


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def prometheus_text(fresh: Freshness) -> str:
    """Returns the latencies in Prometheus text exposition: a histogram per gold table, a
    snapshot of the window (`histogram_quantile` without `rate()`), and the pending gauges."""
    name = "eventlake_event_to_gold_seconds"
    lines = [
        f"# HELP {name} Produce to the first gold commit that counted the event, over the "
        f"events produced in the last {(fresh.until - fresh.since).total_seconds():g} s "
        "(a snapshot of the window, not a counter)",
        f"# TYPE {name} histogram",
    ]
    for t in fresh.tables:
        for bound, count in zip(BUCKETS, t.buckets, strict=True):
            lines.append(f'{name}_bucket{{table="{t.table}",le="{bound:g}"}} {count}')
        lines.append(f'{name}_bucket{{table="{t.table}",le="+Inf"}} {t.counted}')
        lines.append(f'{name}_sum{{table="{t.table}"}} {t.sum_s:g}')
        lines.append(f'{name}_count{{table="{t.table}"}} {t.counted}')
    pending = "eventlake_event_to_gold_pending_events"
    oldest = "eventlake_event_to_gold_oldest_pending_seconds"
    lines += [
        f"# HELP {pending} Events of the window in bronze that the gold table has not counted",
        f"# TYPE {pending} gauge",
        *(f'{pending}{{table="{t.table}"}} {t.pending}' for t in fresh.tables),
        f"# HELP {oldest} Age of the oldest event the gold table has not counted (0: none)",
        f"# TYPE {oldest} gauge",
        *(f'{oldest}{{table="{t.table}"}} {t.oldest_pending_s or 0:g}' for t in fresh.tables),
    ]
    return "\n".join(lines) + "\n"
