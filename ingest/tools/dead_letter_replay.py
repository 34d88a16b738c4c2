"""Dead-letter replay: dead letters judged again by the registry of now, the now-valid ones
appended to bronze/events exactly once.

A dead letter is *replayed* when bronze/events holds a row of the same Kafka message: the same
`IDENTITY` (topic, partition, offset and Kafka timestamp, copied verbatim by the replay). The
ingester never writes a message to both tables, so such a row can only come from a replay; that
derived state is the marking, with no second table to keep in step. The Kafka timestamp belongs
to the identity because a recreated topic starts its offsets again (`reset-offsets` keeps the
old rows): an old incarnation's event at the same offset is another message.

Exactly once: a replay commit is made against the bronze/events version its anti-join read, and
records a Delta `txn` action of the app id `APP_ID`. delta-rs refuses a commit when a commit
since its read version recorded a txn of the same app id, so of two replays that read the same
version one commits and the other gets `lake.ConcurrentCommit`: it re-reads, checks again, and
finds the rows there.

The verdict is the ingester's own (`ingest.decode.rows.decode`: fast path, then
`envelope.parse`) with the registry and `max_message_bytes` of now, but with the dead letter's
`ingested_at` as the clock of the "now + 24 h" bound on event times, so that it depends on the
registry and not on the day of the replay. Replayed rows get the replay time as `ingested_at`:
that is when they entered the log, and silver's "earliest-ingested copy wins" keeps any copy
accepted before.
"""

from __future__ import annotations

import logging
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import polars as pl
from confluent_kafka import Message
from tqdm import tqdm

from eventlake import lake
from eventlake.catalog import BRONZE_DEAD_LETTERS, BRONZE_EVENTS
from eventlake.errors import LakeError
from eventlake.lake import DeltaTable
from eventlake.log_rules import REPLAY_APP_ID
from eventlake.settings import Settings
from ingest.decode.rows import decode
from ingest.write import field_sealing
from ingest.write.bronze import event_dates_metadata, write_events

log = logging.getLogger(__name__)

IDENTITY = ["kafka_topic", "kafka_partition", "kafka_offset", "kafka_timestamp"]
APP_ID = REPLAY_APP_ID  # txn app id of replay commits; its version counts them
CAUSE = "replay"  # the commit metadata `lake.CAUSE_KEY` of a replay commit
MAX_ATTEMPTS = 20
PROGRESS_MIN_ROWS = 1_000  # smaller selections are judged before a bar would be worth drawing
_CHUNK = 10_000  # dead letters judged at a time (one progress step)


@dataclass(frozen=True)
class Selection:
    """Which dead letters a command takes; a filter left empty takes all."""

    codes: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    since: date | None = None  # first UTC day of `ingested_at`
    until: date | None = None  # last UTC day of `ingested_at`
    coordinates: tuple[str, int, int] | None = None  # (topic, partition, offset)

    def predicate(self) -> pl.Expr:
        """Returns the filter of bronze/dead_letters rows this selection takes."""
        where = pl.lit(True)
        if self.codes:
            where &= pl.col("error_code").is_in(list(self.codes))
        if self.topics:
            where &= pl.col("kafka_topic").is_in(list(self.topics))
        if self.since:
            where &= pl.col("ingested_at") >= datetime.combine(self.since, datetime.min.time(), UTC)
        if self.until:
            end = datetime.combine(self.until + timedelta(days=1), datetime.min.time(), UTC)
            where &= pl.col("ingested_at") < end
        if self.coordinates:
            topic, partition, offset = self.coordinates
            where &= (
                (pl.col("kafka_topic") == topic)
                & (pl.col("kafka_partition") == partition)
                & (pl.col("kafka_offset") == offset)
            )
        return where


def select(
    settings: Settings, selection: Selection, *, columns: list[str] | None = None
) -> pl.DataFrame:
    """Returns the selected rows of bronze/dead_letters, oldest first.

    Args:
        columns: only these columns (None: all, the raw messages included).

    Raises:
        LakeError: bronze/dead_letters does not exist (or cannot be read).
    """
    table = lake.open_table(settings, BRONZE_DEAD_LETTERS)
    if table is None:
        raise LakeError(
            f"{BRONZE_DEAD_LETTERS.name} does not exist under {settings.lake_root}: "
            "nothing was ingested into this lake"
        )
    order = ["ingested_at", "kafka_topic", "kafka_partition", "kafka_offset"]
    frame = pl.scan_delta(table).filter(selection.predicate()).sort(order)
    return (frame if columns is None else frame.select(columns)).collect()


def with_status(rows: pl.DataFrame, events: DeltaTable | None) -> pl.DataFrame:
    """Returns the dead letters `rows` with a `status` column: "replayed" when `events`
    (bronze/events at its loaded version) holds their message, else "pending"."""
    held = held_identities(events, rows).with_columns(status=pl.lit("replayed"))
    return rows.join(held, on=IDENTITY, how="left", nulls_equal=True).with_columns(
        pl.col("status").fill_null("pending")
    )


def held_identities(events: DeltaTable | None, rows: pl.DataFrame) -> pl.DataFrame:
    """Returns the distinct `IDENTITY` values of `rows` that bronze/events holds at the loaded
    version of `events` (files pruned by topic and offset range, and by day when `rows` has one)."""
    keys = rows.select(IDENTITY).unique()
    if events is None or keys.is_empty():
        return keys.clear()
    offsets = keys.get_column("kafka_offset")
    where = pl.col("kafka_topic").is_in(keys.get_column("kafka_topic").unique().to_list())
    where &= pl.col("kafka_offset").is_between(offsets.min(), offsets.max())
    if "event_date" in rows.columns:
        where &= pl.col("event_date").is_in(rows.get_column("event_date").unique().to_list())
    return (
        pl.scan_delta(events)
        .filter(where)
        .select(IDENTITY)
        .join(keys.lazy(), on=IDENTITY, how="semi", nulls_equal=True)
        .unique()
        .collect()
    )


@dataclass(frozen=True)
class Verdicts:
    """What the registry of now says of some dead letters."""

    events: pl.DataFrame  # bronze/events rows of the messages it accepts
    rejected: pl.DataFrame  # bronze/dead_letters rows of the others, with today's code and detail


def judge(
    rows: pl.DataFrame, *, max_bytes: int, ingested_at_us: int, progress: bool | None = None
) -> Verdicts:
    """Returns the verdicts of the dead letters `rows` through the ingester's decoding.

    Args:
        max_bytes: the message size limit of now.
        ingested_at_us: the `ingested_at` of the rows it makes.
        progress: show a progress bar (None: when stderr is a terminal and `rows` are many).
    """
    if progress is None:
        progress = sys.stderr.isatty() and rows.height >= PROGRESS_MIN_ROWS
    clock = pl.col("ingested_at").dt.epoch("us").alias("clock_us")
    events, rejected = [BRONZE_EVENTS.empty()], [BRONZE_DEAD_LETTERS.empty()]
    with tqdm(
        total=rows.height, unit="msg", desc="replay", file=sys.stderr, disable=not progress
    ) as bar:
        for (clock_us,), group in rows.with_columns(clock).group_by(
            "clock_us", maintain_order=True
        ):
            for first in range(0, group.height, _CHUNK):
                chunk = group.slice(first, _CHUNK)
                index = pl.int_range(pl.len(), dtype=pl.Int64).alias("index")
                decoded = decode(
                    _messages(chunk),
                    now_ms=int(clock_us) // 1000,  # the ingester's clock when it rejected them
                    max_bytes=max_bytes,
                    ingested_at_us=ingested_at_us,
                    kafka=chunk.select(index, *IDENTITY),
                )
                events.append(decoded.events)
                rejected.append(decoded.dead_letters)
                bar.update(chunk.height)
    return Verdicts(pl.concat(events), pl.concat(rejected))


def _messages(rows: pl.DataFrame) -> list[Message]:
    """Returns the dead letters as the Kafka messages they were received as (key and value)."""
    return [
        Message(topic=t, partition=p, offset=o, key=k, value=v)
        for t, p, o, k, v in rows.select(
            "kafka_topic", "kafka_partition", "kafka_offset", "key", "raw"
        ).iter_rows()
    ]


@dataclass
class Plan:
    """A replay checked against one bronze/events version, not written yet."""

    table: DeltaTable | None  # bronze/events at `version` (None: no such table yet)
    version: int | None
    selected: int
    already: int  # selected dead letters whose message bronze/events holds
    events: pl.DataFrame  # the rows to append: the now-valid pending dead letters
    still_invalid: dict[str, int] = field(default_factory=dict)  # today's code -> count


@dataclass(frozen=True)
class Outcome:
    """What a replay did (or, dry, would do)."""

    selected: int
    replayed: int
    already: int
    still_invalid: dict[str, int]
    version: int | None  # the bronze/events version of the replay commit (None: none made)
    dry_run: bool = False
    attempts: int = 1


def plan(settings: Settings, selection: Selection, *, progress: bool | None = None) -> Plan:
    """Returns the replay of the selected dead letters as of bronze/events now (nothing written)."""
    table = lake.open_table(settings, BRONZE_EVENTS)
    rows = with_status(select(settings, selection), table)
    # one verdict per message, even should a message have been dead-lettered twice
    pending = rows.filter(pl.col("status") == "pending").unique(IDENTITY, maintain_order=True)
    verdicts = judge(
        pending,
        max_bytes=settings.max_message_bytes,
        ingested_at_us=time.time_ns() // 1000,
        progress=progress,
    )
    return Plan(
        table=table,
        version=None if table is None else table.version(),
        selected=rows.height,
        already=rows.filter(pl.col("status") == "replayed").height,
        events=verdicts.events,
        still_invalid=dict(Counter(verdicts.rejected.get_column("error_code").to_list())),
    )


def commit(settings: Settings, planned: Plan) -> Outcome:
    """Appends the planned rows bronze/events does not hold yet, in one commit; returns what
    was done. A commit lost to another replay is checked again against the new version.

    Raises:
        LakeError: the lake failed, or the commit lost to other replays `MAX_ATTEMPTS` times.
    """
    table, checked, rows, already = planned.table, planned.version, planned.events, planned.already
    sealer = field_sealing.sealer_for(settings)  # replayed rows are sealed like ingested ones
    if sealer is not None and not rows.is_empty():
        rows = sealer.seal(rows)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        if table is None:
            table = lake.ensure_table(settings, BRONZE_EVENTS)
        if table.version() != checked:  # check again against what was committed since
            held = held_identities(table, rows)
            already += held.height
            rows = rows.join(held, on=IDENTITY, how="anti", nulls_equal=True)
            checked = table.version()
        if rows.is_empty():
            return _outcome(planned, 0, already, None, attempt)
        counter = lake.txn_of(table, APP_ID) or 0
        metadata = {**event_dates_metadata(rows), lake.CAUSE_KEY: CAUSE}
        try:
            version = write_events(table, rows, {APP_ID: counter + 1}, metadata)
        except lake.ConcurrentCommit:
            log.info("replay commit lost to another replay (attempt %d): checking again", attempt)
            table = lake.refresh(table, BRONZE_EVENTS)
            time.sleep(0.05 * attempt)
            continue
        return _outcome(planned, rows.height, already, version, attempt)
    raise LakeError(
        f"{BRONZE_EVENTS.name}: the replay commit lost to other replays {MAX_ATTEMPTS} times; "
        "run it again"
    )


def _outcome(
    planned: Plan, replayed: int, already: int, version: int | None, attempts: int
) -> Outcome:
    return Outcome(
        selected=planned.selected,
        replayed=replayed,
        already=already,
        still_invalid=planned.still_invalid,
        version=version,
        attempts=attempts,
    )


def replay(
    settings: Settings,
    selection: Selection,
    *,
    dry_run: bool = False,
    progress: bool | None = None,
) -> Outcome:
    """Returns what replaying the selected pending dead letters did: the ones the registry
    accepts now are appended to bronze/events, exactly once (see the module docstring).

    Args:
        dry_run: judge and count, write nothing.
        progress: show a progress bar (None: when stderr is a terminal and there are many).
    """
    planned = plan(settings, selection, progress=progress)
    if dry_run:
        return Outcome(
            selected=planned.selected,
            replayed=planned.events.height,
            already=planned.already,
            still_invalid=planned.still_invalid,
            version=None,
            dry_run=True,
        )
    return commit(settings, planned)
