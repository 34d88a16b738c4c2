"""Delta I/O of the lake module, on real tables in a temporary folder."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

from eventlake import lake
from eventlake.catalog import BRONZE_EVENTS
from eventlake.settings import Settings


def test_processes_creating_the_same_table_at_once_all_get_it(
    settings: Settings, tmp_path: Path
) -> None:
    # Ingesters of one group start together and each creates bronze/events if it is missing.
    for attempt in range(8):
        s = dataclasses.replace(settings, lake_root=str(tmp_path / f"lake{attempt}"))
        start = threading.Barrier(4)
        versions: list[int] = []
        errors: list[BaseException] = []

        def create(s: Settings = s, start: threading.Barrier = start) -> None:
            start.wait()
            try:
                versions.append(lake.ensure_table(s, BRONZE_EVENTS).version())
            except BaseException as err:  # noqa: BLE001 - the test reports it
                errors.append(err)

        threads = [threading.Thread(target=create) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors, errors
        assert len(versions) == 4
        table = lake.open_table(s, BRONZE_EVENTS)
        assert table is not None
        assert lake.scan(s, BRONZE_EVENTS).collect_schema() == BRONZE_EVENTS.schema
