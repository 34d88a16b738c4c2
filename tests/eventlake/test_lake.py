"""Delta I/O of the lake module, on real tables in a temporary folder."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

from eventlake import lake
from eventlake.catalog import BRONZE_EVENTS
from eventlake.settings import Settings


def create_at_once(settings: Settings, writers: int) -> list[BaseException]:
    """Has `writers` threads create bronze/events at the same moment; returns their errors."""
    start = threading.Barrier(writers)
    errors: list[BaseException] = []

    def create() -> None:
        start.wait()
        try:
            lake.ensure_table(settings, BRONZE_EVENTS)
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=create) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_processes_creating_the_same_table_at_once_all_get_it(
    settings: Settings, tmp_path: Path
) -> None:
    # Ingesters of one group start together and each creates bronze/events if it is missing.
    for attempt in range(8):
        s = dataclasses.replace(settings, lake_root=str(tmp_path / f"lake{attempt}"))
        assert create_at_once(s, 4) == []
        assert lake.scan(s, BRONZE_EVENTS).collect_schema() == BRONZE_EVENTS.schema
