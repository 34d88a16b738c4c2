"""Compaction while the ingester is appending loses nothing (issue 5).

A real `eventlake ingest` process appends a steady simulated stream to bronze. The stream's
events are spread over the last 10 days (some up to 30 days late), so every batch appends new
files to the closed days too: the very days this test compacts, again and again, while also
checkpointing and vacuuming (with no retention at all, the harshest setting). At the end every
Kafka offset is in bronze (events + dead letters) exactly once, and the compactions really
rewrote files in days the ingester kept appending to.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from processes import Ingester, SteadyProducer, stop_when_caught_up

from eventlake import lake
from eventlake.catalog import BRONZE_DEAD_LETTERS, BRONZE_EVENTS
from eventlake.settings import Settings
from operations import maintenance

COMPACTING_S = 25.0  # how long the test compacts under the live ingester


@pytest.mark.timeout(180)
def test_compaction_while_the_ingester_appends_loses_nothing(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    settings = kafka_settings
    producer = SteadyProducer(settings, rate=2_000)
    ingester = Ingester(settings, tmp_path / "ingest.log", "--batch-max-seconds", "0.3")
    compactions: list[maintenance.Compaction] = []
    skipped, vacuumed, rounds = 0, 0, 0
    try:
        ingester.wait_for("batch committed", count=3)
        deadline = time.monotonic() + COMPACTING_S
        while time.monotonic() < deadline:
            today = datetime.now(UTC).date()
            days = maintenance.days_to_compact(settings, BRONZE_EVENTS, before=today, min_files=2)
            report = maintenance.compact_days(settings, BRONZE_EVENTS, days)
            compactions += report.compactions
            skipped += len(report.skipped)
            for spec in (BRONZE_EVENTS, BRONZE_DEAD_LETTERS):
                maintenance.checkpoint(settings, spec)
            # lite vacuum deletes only files a commit removed: never one being written
            vacuumed += maintenance.vacuum_table(settings, BRONZE_EVENTS, retention_hours=0).files
            rounds += 1
            assert ingester.alive(), ingester.text()[-2000:]
            time.sleep(0.5)
    finally:
        produced = producer.stop()
    found = stop_when_caught_up(settings, ingester, timeout=90)
    assert found.height == produced > 20_000

    # Compaction really happened, repeatedly, in days the ingester kept appending to.
    assert any(c.files_removed >= 2 for c in compactions), compactions
    assert max(Counter(c.day for c in compactions).values()) >= 3, compactions
    # vacuum deleted the replaced files (and counts each once, though delta-rs lists them again)
    assert 0 < vacuumed <= sum(c.files_removed for c in compactions)
    assert skipped == 0 and rounds >= 5  # a compaction never lost to an append
    table = lake.open_table(settings, BRONZE_EVENTS)
    assert table is not None
    history = table.history()
    optimize = [h["version"] for h in history if h.get(maintenance.MAINTENANCE_KEY) == "compact"]
    writes = [h["version"] for h in history if h["operation"] == "WRITE"]
    assert len(optimize) == len(compactions)
    assert any(min(optimize) < v < max(optimize) for v in writes), "no append between compactions"
