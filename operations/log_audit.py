"""The event log audit: every Kafka message in bronze exactly once, offsets contiguous and
agreeing with the offsets of record, no event_id with two contents, dead letters accounted for.

A Kafka message is a (topic, partition, offset, Kafka timestamp): the timestamp tells apart
two incarnations of a recreated topic (`eventlake reset-offsets` keeps the old rows, whose
offsets the new topic reuses). The audit reads bronze/events at one Delta version and the dead
letters up to that version's offsets of record: the ingester commits a batch's dead letters
just before its events, so dead letters above them belong to a batch still in flight.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from eventlake import lake
from eventlake.catalog import BRONZE_DEAD_LETTERS, BRONZE_EVENTS
from eventlake.envelope import REJECTION_CODES
from eventlake.errors import LakeError
from eventlake.lake import DeltaTable
from eventlake.log_rules import offset_app_id
from eventlake.settings import Settings

PARTITION = ["kafka_topic", "kafka_partition"]
POSITION = [*PARTITION, "kafka_offset"]
MESSAGE = [*POSITION, "kafka_timestamp"]
CONTENT = ["event_type", "schema_version", "aggregate_id", "event_time", "payload"]
_ID_HASH = pl.col("event_id").hash(seed=0xA0D1)


def duplicate_messages(rows: pl.LazyFrame) -> pl.LazyFrame:
    """One row per Kafka message written more than once to one table: MESSAGE, `copies`."""
    return (
        rows.group_by(MESSAGE)
        .agg(copies=pl.len())
        .filter(pl.col("copies") > 1)
        .sort(MESSAGE, nulls_last=True)
    )


def reused_offsets(messages: pl.LazyFrame) -> pl.LazyFrame:
    """One row per (topic, partition, offset) held by several messages (a recreated topic)."""
    return (
        messages.group_by(POSITION)
        .agg(messages=pl.col("kafka_timestamp").n_unique())
        .filter(pl.col("messages") > 1)
        .sort(POSITION)
    )


def offset_gaps(messages: pl.LazyFrame) -> pl.LazyFrame:
    """One row per hole between a partition's first and last offset: `after` and `before`
    (the offsets around it) and `missing` (how many offsets it spans)."""
    return (
        messages.select(POSITION)
        .unique()
        .sort(POSITION)
        .with_columns(before=pl.col("kafka_offset").shift(-1).over(PARTITION))
        .filter(pl.col("before") > pl.col("kafka_offset") + 1)
        .select(*PARTITION, after="kafka_offset", before="before")
        .with_columns(missing=pl.col("before") - pl.col("after") - 1)
    )


def last_offsets(messages: pl.LazyFrame) -> pl.LazyFrame:
    """One row per partition: its `first_offset`, `last_offset` and distinct `offsets`."""
    return (
        messages.group_by(PARTITION)
        .agg(
            first_offset=pl.col("kafka_offset").min(),
            last_offset=pl.col("kafka_offset").max(),
            offsets=pl.col("kafka_offset").n_unique(),
        )
        .sort(PARTITION)
    )


def txn_mismatches(last: pl.DataFrame, of_record: Mapping[tuple[str, int], int]) -> pl.DataFrame:
    """One row per partition whose last offset in bronze is not its offset of record
    (`offset_of_record` null: bronze holds rows of a partition it records no offset for).

    Args:
        last: `last_offsets` rows.
        of_record: (topic, partition) -> the txn version of its app id in bronze/events.
    """
    recorded = pl.DataFrame(
        [(t, p, v) for (t, p), v in of_record.items()],
        schema={
            "kafka_topic": pl.String,
            "kafka_partition": pl.Int32,
            "offset_of_record": pl.Int64,
        },
        orient="row",
    )
    return (
        last.select(*PARTITION, "last_offset")
        .join(recorded, on=PARTITION, how="left")
        .filter(
            pl.col("offset_of_record").is_null()
            | (pl.col("offset_of_record") != pl.col("last_offset"))
        )
    )


def conflicting_event_ids(events: pl.LazyFrame) -> pl.LazyFrame:
    """One row per event_id whose copies differ in content (CONTENT columns): `event_id`,
    `contents` (distinct versions) and `copies`.

    Ids are grouped by a 64-bit hash first; only ids whose hash group shows two contents are
    then compared exactly (a hash shared by two ids only adds a candidate).
    """
    content = pl.struct(CONTENT).hash(seed=0xC0)
    suspects = (
        events.select(h=_ID_HASH, c=content)
        .group_by("h")
        .agg(contents=pl.col("c").n_unique())
        .filter(pl.col("contents") > 1)
        .select("h")
    )
    return (
        events.with_columns(h=_ID_HASH)
        .join(suspects, on="h", how="semi")
        .group_by("event_id")
        .agg(contents=pl.struct(CONTENT).n_unique(), copies=pl.len())
        .filter(pl.col("contents") > 1)
        .sort("event_id")
    )


def unreplayed_overlaps(events: pl.LazyFrame, dead: pl.LazyFrame) -> pl.LazyFrame:
    """One row per message both in bronze/events and in bronze/dead_letters that is not a
    replay: a replay (`eventlake dead-letters replay`) copies the message's identity into
    bronze/events later, so its row was ingested after the dead letter's."""
    return (
        events.select(*MESSAGE, event_ingested_at="ingested_at")
        .join(dead.select(*MESSAGE, dead_ingested_at="ingested_at"), on=MESSAGE, nulls_equal=True)
        .filter(~(pl.col("event_ingested_at") > pl.col("dead_ingested_at")))
        .sort(MESSAGE, nulls_last=True)
    )


def unknown_error_codes(dead: pl.LazyFrame) -> pl.LazyFrame:
    """One row per error code of dead letters that is not a rejection code of docs/wire-format.md: `rows`."""
    known = pl.Series(REJECTION_CODES, dtype=pl.String).implode()
    return (
        dead.filter(~pl.col("error_code").is_in(known) | pl.col("error_code").is_null())
        .group_by("error_code")
        .agg(rows=pl.len())
        .sort("error_code", nulls_last=True)
    )


@dataclass(frozen=True)
class LogAudit:
    """What the audit of bronze found: each frame lists the offending rows (empty: none)."""

    events_version: int
    events: int
    dead_letters: int
    in_flight_dead_letters: int  # above the offset of record: their batch is not committed
    partitions: pl.DataFrame  # last_offsets
    duplicates: pl.DataFrame  # duplicate_messages of both tables, with `table`
    reused: pl.DataFrame  # reused_offsets
    gaps: pl.DataFrame  # offset_gaps
    txn_mismatches: pl.DataFrame  # txn_mismatches (partitions with reused offsets skipped)
    conflicts: pl.DataFrame  # conflicting_event_ids
    overlaps: pl.DataFrame  # unreplayed_overlaps
    unknown_codes: pl.DataFrame  # unknown_error_codes


def offsets_of_record(table: DeltaTable, partitions: pl.DataFrame) -> dict[tuple[str, int], int]:
    """Returns the offset of record (txn version) of each partition that has one."""
    found = {}
    for topic, partition in partitions.select(PARTITION).iter_rows():
        version = table.transaction_version(offset_app_id(topic, partition))
        if version is not None:
            found[(topic, partition)] = int(version)
    return found


def audit_log(settings: Settings) -> LogAudit:
    """Returns the audit of bronze/events (at its latest version) and bronze/dead_letters.

    Raises:
        LakeError: bronze/events does not exist.
    """
    table = lake.open_table(settings, BRONZE_EVENTS)
    if table is None:
        raise LakeError(
            f"no {BRONZE_EVENTS.name} table at {lake.table_uri(settings, BRONZE_EVENTS)}"
        )
    version = table.version()
    events = lake.scan(settings, BRONZE_EVENTS, version=version)
    dead_all = lake.scan(settings, BRONZE_DEAD_LETTERS)
    partitions = (
        pl.concat([events.select(PARTITION).unique(), dead_all.select(PARTITION).unique()])
        .unique()
        .collect()
    )
    record = offsets_of_record(table, partitions)
    recorded = pl.LazyFrame(
        [(t, p, v) for (t, p), v in record.items()],
        schema={"kafka_topic": pl.String, "kafka_partition": pl.Int32, "record": pl.Int64},
        orient="row",
    )
    flags = dead_all.join(recorded, on=PARTITION, how="left").with_columns(
        settled=pl.col("kafka_offset") <= pl.col("record").fill_null(-1)
    )
    dead = flags.filter(pl.col("settled")).drop("record", "settled")
    messages = pl.concat([events.select(MESSAGE), dead.select(MESSAGE)]).unique()
    counts = pl.collect_all(
        [
            events.select(pl.len()),
            flags.select(pl.len(), (~pl.col("settled")).sum()),
            last_offsets(messages),
            reused_offsets(messages),
            offset_gaps(messages),
            conflicting_event_ids(events),
            unreplayed_overlaps(events, dead),
            unknown_error_codes(dead),
            duplicate_messages(events.select(MESSAGE)).with_columns(
                table=pl.lit(BRONZE_EVENTS.name)
            ),
            duplicate_messages(dead.select(MESSAGE)).with_columns(
                table=pl.lit(BRONZE_DEAD_LETTERS.name)
            ),
        ]
    )
    n_events, dead_counts, last, reused, gaps, conflicts, overlaps, codes, dup_e, dup_d = counts
    reused_partitions = reused.select(PARTITION).unique()
    checked_last = last.join(reused_partitions, on=PARTITION, how="anti")
    return LogAudit(
        events_version=version,
        events=int(n_events.item()),
        dead_letters=int(dead_counts.item(0, 0)),
        in_flight_dead_letters=int(dead_counts.item(0, 1) or 0),
        partitions=last,
        duplicates=pl.concat([dup_e, dup_d]),
        reused=reused,
        gaps=gaps,
        txn_mismatches=txn_mismatches(checked_last, record),
        conflicts=conflicts,
        overlaps=overlaps,
        unknown_codes=codes,
    )


def audit_lines(audit: LogAudit) -> list[str]:
    """Returns the audit's findings for a terminal, one line per check."""
    missing = int(audit.gaps.get_column("missing").sum() or 0)
    findings = [
        (
            "offsets_contiguous",
            f"{audit.duplicates.height} message(s) written twice"
            if audit.duplicates.height
            else (f"{audit.gaps.height} gap(s), {missing} offset(s) missing (warning)"
                  if audit.gaps.height else "ok"),
        ),
        (
            "offsets_match_record",
            f"{audit.txn_mismatches.height} partition(s) differ from their offset of record"
            if audit.txn_mismatches.height else "ok",
        ),
        (
            "event_ids_consistent",
            f"{audit.conflicts.height} event id(s) with two contents"
            if audit.conflicts.height else "ok",
        ),
        (
            "dead_letters_accounted_for",
            f"{audit.overlaps.height} also event(s), "
            f"{int(audit.unknown_codes.get_column('rows').sum() or 0)} unknown code(s)"
            if audit.overlaps.height or audit.unknown_codes.height else "ok",
        ),
    ]  # fmt: skip
    head = (
        f"log audit of {BRONZE_EVENTS.name} v{audit.events_version}: {audit.partitions.height} "
        f"partition(s), {audit.events:,} events, {audit.dead_letters:,} dead letters "
        f"({audit.in_flight_dead_letters:,} in flight)"
    )
    return [head, *(f"  {name:<27} {text}" for name, text in findings)]


def audit_errors(audit: LogAudit) -> int:
    """Returns the number of error findings (gaps and reused offsets are not errors)."""
    return (
        audit.duplicates.height
        + audit.txn_mismatches.height
        + audit.conflicts.height
        + audit.overlaps.height
        + audit.unknown_codes.height
    )
