"""`eventlake materialize`: day resolution in-process, then the real command in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
from bronze_log_rows import append_bronze, login, noon, order

from assets.restatements import CAUSE_TAG
from cli.main import main
from eventlake import lake
from eventlake.catalog import (
    GOLD_DAILY_ACTIVE_USERS,
    GOLD_REVENUE_DAILY,
    SILVER_EVENT_INDEX,
    SILVER_EVENTS,
    SILVER_SESSIONS,
)
from eventlake.errors import ConfigError, EventlakeError, LakeError
from eventlake.settings import Settings
from orchestration.jobs import DAY_TABLES, WHOLE_TABLES
from orchestration.materialize import materialize_days, resolve_days

TODAY = datetime.now(UTC).date()
EVENTLAKE = Path(sys.executable).parent / "eventlake"  # the installed console script


def eventlake(*args: str, lake_root: Path, home: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVENTLAKE_", "DAGSTER_"))}
    env["EVENTLAKE_LAKE_ROOT"] = str(lake_root)
    if home is not None:
        env["DAGSTER_HOME"] = str(home)
    return subprocess.run(
        [str(EVENTLAKE), *args],
        cwd=lake_root.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_default_days_span_the_event_days_clipped_to_the_partitions(settings: Settings) -> None:
    settings = replace(settings, start_date=date(2024, 1, 10))
    with pytest.raises(LakeError, match="no bronze/events table"):
        resolve_days(settings, None, None, TODAY)
    append_bronze(
        settings,
        [login("a", "u1", noon(date(2024, 1, 5))), login("b", "u1", noon(date(2024, 2, 1)))],
    )
    assert resolve_days(settings, None, None, TODAY) == (date(2024, 1, 10), date(2024, 2, 1))
    assert resolve_days(settings, None, date(2024, 1, 20), TODAY) == (
        date(2024, 1, 10),
        date(2024, 1, 20),
    )
    with pytest.raises(ConfigError, match="--from 2024-01-01 is not a day partition"):
        resolve_days(settings, date(2024, 1, 1), None, TODAY)
    with pytest.raises(ConfigError, match="--to"):
        resolve_days(settings, None, TODAY + timedelta(days=1), TODAY)
    with pytest.raises(ConfigError, match="is after"):
        resolve_days(settings, date(2024, 1, 20), date(2024, 1, 15), TODAY)


def test_days_retired_from_the_log_cannot_be_rebuilt(settings: Settings) -> None:
    today = date(2024, 2, 10)
    settings = replace(settings, start_date=date(2024, 1, 1), bronze_retention_days=14)
    append_bronze(
        settings,
        [login("a", "u1", noon(date(2024, 1, 5))), login("b", "u1", noon(date(2024, 2, 1)))],
    )
    assert resolve_days(settings, None, None, today) == (date(2024, 1, 27), date(2024, 2, 1))
    with pytest.raises(ConfigError, match="keeps only the days from 2024-01-27"):
        resolve_days(settings, date(2024, 1, 26), None, today)


def test_usage_errors_exit_2_with_one_line(tmp_path: Path) -> None:
    bad = eventlake("materialize", "--from", "2024-13-01", lake_root=tmp_path / "lake")
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "eventlake: --from: '2024-13-01' is not a date (YYYY-MM-DD)"
    ]


def test_missing_or_empty_lake_exits_1_with_one_line(tmp_path: Path, settings: Settings) -> None:
    missing = eventlake("materialize", lake_root=tmp_path / "nowhere")
    assert missing.returncode == 1
    assert len(missing.stderr.strip().splitlines()) == 1
    assert "no bronze/events table" in missing.stderr

    append_bronze(settings, [])  # the table exists, without events
    empty = eventlake("materialize", lake_root=Path(settings.lake_root))
    assert empty.returncode == 1
    assert empty.stderr.strip() == "eventlake materialize: bronze/events holds no events yet"


def test_materializes_every_event_day_through_today(tmp_path: Path, settings: Settings) -> None:
    first = TODAY - timedelta(days=2)
    append_bronze(
        settings,
        [
            login("a", "u1", noon(first)),
            order("b", "u2", "o1", 12.5, "EUR", noon(TODAY)),
        ],
    )
    home = tmp_path / "dagster_home"
    home.mkdir()
    done = eventlake("materialize", lake_root=Path(settings.lake_root), home=home)

    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith(f"materialized {first}..{TODAY} (3 days, 2 runs) in ")
    rows = {line.split()[0]: int(line.split()[1]) for line in lines[1:]}
    assert rows["silver/events"] == 2
    assert rows["gold/revenue_daily"] == 1
    assert rows["gold/daily_active_users"] == 3
    assert rows["silver/users"] == 2
    assert rows["gold/customer_rfm"] == 1
    assert set(rows) == {t.name for t in (*DAY_TABLES, *WHOLE_TABLES)}  # every table it builds
    assert lake.scan(settings, SILVER_EVENTS).collect().height == 2
    assert lake.scan(settings, GOLD_REVENUE_DAILY).collect().get_column("revenue").to_list() == [
        12.5
    ]
    dau = lake.scan(settings, GOLD_DAILY_ACTIVE_USERS).sort("day").collect()
    assert dau.select("dau", "mau").rows() == [(1, 1), (0, 1), (1, 2)]
    assert any(home.iterdir())  # the run was recorded in DAGSTER_HOME's instance


def test_a_failed_run_raises_one_line_naming_the_step(
    settings: Settings, instance: dg.DagsterInstance
) -> None:
    append_bronze(settings, [login("a", "u1", noon(TODAY))])
    blocker = Path(settings.lake_root) / "silver"
    blocker.write_text("not a folder")  # silver/events cannot be created
    with pytest.raises(EventlakeError) as failed:  # the first silver step to run fails
        materialize_days(settings, TODAY, TODAY, tables=[SILVER_EVENTS], instance=instance)
    message = str(failed.value)
    assert "\n" not in message
    assert message.startswith(
        f"{TODAY}..{TODAY}: step silver__events failed: LakeError: silver/events: cannot create "
    )


def test_one_read_model_is_rebuilt_from_the_log_with_what_it_needs(
    settings: Settings,
    instance: dg.DagsterInstance,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    day = TODAY - timedelta(days=1)
    append_bronze(settings, [order("b", "u2", "o1", 12.5, "EUR", noon(day))])
    monkeypatch.setenv("EVENTLAKE_LAKE_ROOT", settings.lake_root)

    assert main(["materialize", "--table", "revenue_daily", "--from", str(day)]) == 0

    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith(f"materialized {day}..{day} (1 day, 1 run) in ")
    rows = {line.split()[0]: int(line.split()[1]) for line in lines[1:]}
    silver = {
        t.name
        for t in DAY_TABLES
        if t.layer == "silver" and t not in (SILVER_SESSIONS, SILVER_EVENT_INDEX)
    }  # the index reads bronze only
    assert set(rows) == silver | {
        GOLD_REVENUE_DAILY.name
    }  # no sessions: revenue does not read them
    assert rows[GOLD_REVENUE_DAILY.name] == 1
    assert lake.open_table(settings, GOLD_DAILY_ACTIVE_USERS) is None  # not rebuilt
    (run,) = instance.get_runs()
    assert run.tags[CAUSE_TAG] == "replay"


def test_an_unknown_table_is_a_one_line_usage_error(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["materialize", "--table", "gold/nope", "--lake-root", settings.lake_root]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("eventlake: --table: unknown table 'gold/nope' (valid: silver/events, ")
    assert GOLD_REVENUE_DAILY.name in line
