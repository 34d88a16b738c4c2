"""The event log audit over crafted bronze tables: a clean log passes, and each injected fault
(a message written twice, a gap, an offset of record that disagrees, an event id with two
contents, a dead letter that is also an event, an unknown error code) is found exactly."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg
import polars as pl
from bronze_log_rows import bronze_frame, event, login, noon

from eventlake import lake
from eventlake.catalog import BRONZE_DEAD_LETTERS, BRONZE_EVENTS
from eventlake.log_rules import offset_app_id
from eventlake.settings import Settings
from operations.log_audit import audit_log
from orchestration.reconcile_checks import (
    DEAD_LETTERS_ACCOUNTED,
    EVENT_IDS_CONSISTENT,
    OFFSETS_CONTIGUOUS,
    OFFSETS_MATCH_RECORD,
    audit_results,
)

DAY = date(2025, 3, 3)
BATCH = datetime(2025, 3, 3, 13, tzinfo=UTC)  # the ingester stamps one time per batch
TOPIC = "user_events"


def logins(offsets: range, partition: int = 0) -> list[dict[str, Any]]:
    return [
        login(f"e{partition}-{o}", f"u{o}", noon(DAY), partition=partition, offset=o,
              ingested_at=BATCH)
        for o in offsets
    ]  # fmt: skip


def dead_letter(offset: int, code: str = "not_json", partition: int = 0) -> dict[str, Any]:
    return {
        "kafka_topic": TOPIC,
        "kafka_partition": partition,
        "kafka_offset": offset,
        "kafka_timestamp": BATCH,
        "key": b"k",
        "raw": b"{oops",
        "error_code": code,
        "error_detail": "bad",
        "ingested_at": BATCH,
    }


def commit(settings: Settings, events: list[dict], dead: list[dict], last: dict[int, int]) -> None:
    """Commits a batch the ingester's way: dead letters, then events with the offsets of record."""
    txns = {offset_app_id(TOPIC, p): o for p, o in last.items()}
    if dead:
        frame = pl.DataFrame(dead, schema=BRONZE_DEAD_LETTERS.schema)
        lake.append(settings, BRONZE_DEAD_LETTERS, frame, offsets=txns)
    lake.append(settings, BRONZE_EVENTS, bronze_frame(events), offsets=txns)


def results(settings: Settings) -> dict[str, dg.AssetCheckResult]:
    return {r.check_name: r for r in audit_results(audit_log(settings)) if r.check_name}


def test_a_clean_log_passes_every_check(settings: Settings) -> None:
    commit(settings, logins(range(0, 5)), [dead_letter(5)], {0: 5})
    # A replayed dead letter: bronze/events gets the same message later; it is accounted for.
    replayed = login("r6", "u6", noon(DAY), offset=6, ingested_at=BATCH + timedelta(hours=1))
    replayed["kafka_timestamp"] = BATCH
    commit(settings, [*logins(range(7, 9)), *logins(range(0, 3), partition=1)],
           [dead_letter(6)], {0: 8, 1: 2})  # fmt: skip
    lake.append(settings, BRONZE_EVENTS, bronze_frame([replayed]))
    # In flight: a batch whose dead letters are in but whose events commit is not yet.
    lake.append(settings, BRONZE_DEAD_LETTERS, pl.DataFrame([dead_letter(9)],
                schema=BRONZE_DEAD_LETTERS.schema))  # fmt: skip

    audit = audit_log(settings)
    assert audit.partitions.rows() == [(TOPIC, 0, 0, 8, 9), (TOPIC, 1, 0, 2, 3)]
    assert (audit.events, audit.dead_letters, audit.in_flight_dead_letters) == (11, 3, 1)
    for found in (audit.duplicates, audit.gaps, audit.txn_mismatches, audit.conflicts,
                  audit.overlaps, audit.unknown_codes, audit.reused):  # fmt: skip
        assert found.is_empty(), found
    assert all(r.passed for r in results(settings).values())


def test_each_injected_fault_is_found(settings: Settings) -> None:
    twice = logins(range(3, 4))  # offset 3 written twice (the same Kafka message)
    conflicting = event("e0-1", "login", noon(DAY), {"user_id": "someone else"},
                        offset=20, ingested_at=BATCH)  # fmt: skip
    commit(settings, [*logins(range(0, 4)), *twice, *logins(range(6, 8))],
           [dead_letter(2), dead_letter(8, code="teapot")], {0: 9})  # fmt: skip
    lake.append(
        settings, BRONZE_EVENTS, bronze_frame([conflicting]), offsets={offset_app_id(TOPIC, 0): 20}
    )

    audit = audit_log(settings)
    assert audit.duplicates.select("kafka_offset", "copies", "table").rows() == [
        (3, 2, BRONZE_EVENTS.name)
    ]
    # 4 and 5 never arrived; 9..19 neither (the last batch jumped to 20).
    assert audit.gaps.select("after", "before", "missing").rows() == [(3, 6, 2), (8, 20, 11)]
    assert audit.conflicts.rows() == [("e0-1", 2, 2)]
    assert audit.overlaps.get_column("kafka_offset").to_list() == [2]  # same batch: no replay
    assert audit.unknown_codes.rows() == [("teapot", 1)]
    assert audit.txn_mismatches.is_empty()  # 20 is both the last offset and the record

    checks = results(settings)
    assert not checks[OFFSETS_CONTIGUOUS].passed
    assert checks[OFFSETS_CONTIGUOUS].severity == dg.AssetCheckSeverity.ERROR  # duplicates
    assert not checks[EVENT_IDS_CONSISTENT].passed
    assert checks[DEAD_LETTERS_ACCOUNTED].metadata["offending_rows"].value == 2
    assert checks[OFFSETS_MATCH_RECORD].passed


def test_gaps_alone_warn_and_a_wrong_offset_of_record_fails(settings: Settings) -> None:
    commit(settings, [*logins(range(0, 2)), *logins(range(4, 6))], [], {0: 7})
    commit(settings, logins(range(0, 2), partition=1), [], {})  # no offset of record

    audit = audit_log(settings)
    assert audit.txn_mismatches.rows() == [(TOPIC, 0, 5, 7), (TOPIC, 1, 1, None)]
    checks = results(settings)
    contiguous = checks[OFFSETS_CONTIGUOUS]
    assert (contiguous.passed, contiguous.severity) == (False, dg.AssetCheckSeverity.WARN)
    assert contiguous.metadata["missing_offsets"].value == 2
    assert not checks[OFFSETS_MATCH_RECORD].passed
    assert checks[OFFSETS_MATCH_RECORD].severity == dg.AssetCheckSeverity.ERROR
