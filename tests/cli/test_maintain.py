"""`eventlake maintain` on a real lake: the dry run changes nothing, the run compacts closed days."""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from polars.testing import assert_frame_equal

from cli.main import main
from eventlake import lake
from eventlake.catalog import BRONZE_EVENTS
from eventlake.settings import Settings
from operations import maintenance

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "assets"))
from bronze_log_rows import append_bronze, login, noon


def test_maintain_dry_run_then_run(
    settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EVENTLAKE_BRONZE_RETENTION_DAYS", raising=False)
    today = datetime.now(UTC).date()  # the command reads the clock, as the nightly job does
    days = [today - timedelta(days=k) for k in (0, 1, 2)]
    for i in range(9):
        append_bronze(settings, [login(f"e{i}-{d}", f"u{i}", noon(d)) for d in days])
    rows = lake.scan(settings, BRONZE_EVENTS).collect().sort("event_id")
    argv = ["maintain", "--lake-root", settings.lake_root, "--min-files", "4", "--no-progress"]

    assert main([*argv, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("plan (dry run: nothing changed)")
    assert re.search(r"^bronze/events\s+2\s+27\s+-", out, re.M), out
    assert maintenance.files_per_day(settings, BRONZE_EVENTS) == dict.fromkeys(days, 9)

    assert main(argv) == 0
    out = capsys.readouterr().out
    assert re.search(r"^bronze/events\s+2\s+27\s+11\s", out, re.M), out
    assert "bronze keeps every day" in out
    assert maintenance.files_per_day(settings, BRONZE_EVENTS) == {
        days[0]: 9,
        days[1]: 1,
        days[2]: 1,
    }
    assert_frame_equal(lake.scan(settings, BRONZE_EVENTS).collect().sort("event_id"), rows)


def test_maintain_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["maintain", "--lake-root", str(tmp_path / "none"), "--no-progress"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("eventlake maintain: no table exists under") and "\n" not in err
    with pytest.raises(SystemExit) as exit_info:
        main(["maintain", "--table", "gold/nope"])
    assert exit_info.value.code == 2
    assert "no table 'gold/nope'" in capsys.readouterr().err
