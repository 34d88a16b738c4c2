"""`eventlake tables`, `read` (with time travel) and `history` over a real Delta table."""

from __future__ import annotations

import io
import time
from contextlib import redirect_stdout
from datetime import UTC, date, datetime

import polars as pl
import pytest

from cli.main import main
from eventlake import lake
from eventlake.catalog import GOLD_DAILY_ACTIVE_USERS
from eventlake.settings import Settings


def dau_rows(day: date, dau: int) -> pl.DataFrame:
    return pl.DataFrame(
        {"day": [day], "dau": [dau], "wau": [dau], "mau": [dau], "stickiness": [1.0]}
    )


def run(settings: Settings, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main([*argv, "--lake-root", settings.lake_root])
    return code, out.getvalue()


@pytest.fixture
def two_versions(settings: Settings) -> datetime:
    """Writes DAU 10 (version 1), then restates it to 12 (version 2); returns a time between."""
    day = date(2026, 11, 1)
    lake.replace_days(settings, GOLD_DAILY_ACTIVE_USERS, dau_rows(day, 10), day, day)
    time.sleep(0.05)
    between = datetime.now(UTC)
    time.sleep(0.05)
    lake.replace_days(settings, GOLD_DAILY_ACTIVE_USERS, dau_rows(day, 12), day, day)
    return between


def test_read_now_and_as_of_a_version_or_time(settings: Settings, two_versions: datetime) -> None:
    name = GOLD_DAILY_ACTIVE_USERS.name
    assert (
        run(settings, "read", name, "--format", "csv")[1]
        .splitlines()[1]
        .startswith("2026-11-01,12,")
    )
    assert (
        run(settings, "read", name, "--version", "1", "--format", "csv")[1]
        .splitlines()[1]
        .startswith("2026-11-01,10,")
    )
    as_of = two_versions.isoformat()
    assert (
        run(settings, "read", name, "--as-of", as_of, "--format", "csv")[1]
        .splitlines()[1]
        .startswith("2026-11-01,10,")
    )


def test_read_filters_days(settings: Settings, two_versions: datetime) -> None:
    code, out = run(
        settings, "read", GOLD_DAILY_ACTIVE_USERS.name, "--from", "2026-11-02", "--format", "csv"
    )
    assert code == 0 and out.strip() == "day,dau,wau,mau,stickiness"


def test_history_lists_versions(settings: Settings, two_versions: datetime) -> None:
    code, out = run(settings, "history", GOLD_DAILY_ACTIVE_USERS.name)
    assert code == 0
    cells = [line.split()[1] for line in out.splitlines() if line.startswith("│ ")]
    versions = [cell for cell in cells if cell.isdigit()]
    assert versions[:3] == ["2", "1", "0"]


def test_tables_lists_the_catalog(settings: Settings, two_versions: datetime) -> None:
    code, out = run(settings, "tables")
    assert code == 0
    line = next(line for line in out.splitlines() if GOLD_DAILY_ACTIVE_USERS.name in line)
    assert line.split("┆")[1].strip() == "2"


def test_unknown_version_and_missing_table_are_one_line_errors(
    settings: Settings, two_versions: datetime, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(settings, "read", GOLD_DAILY_ACTIVE_USERS.name, "--version", "99")[0] == 1
    assert run(settings, "read", "gold/revenue_daily")[0] == 1
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 2 and "no version 99" in errors[0] and "does not exist" in errors[1]


def test_a_vacuumed_version_is_a_one_line_error(
    settings: Settings, two_versions: datetime, capsys: pytest.CaptureFixture[str]
) -> None:
    table = lake.open_table(settings, GOLD_DAILY_ACTIVE_USERS)
    assert table is not None
    table.vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)
    assert run(settings, "read", GOLD_DAILY_ACTIVE_USERS.name, "--version", "1")[0] == 1
    (error,) = capsys.readouterr().err.strip().splitlines()
    assert "cannot read as of 1: its data files are gone (vacuumed" in error
    assert run(settings, "read", GOLD_DAILY_ACTIVE_USERS.name)[1].count("12") >= 1  # now: fine
