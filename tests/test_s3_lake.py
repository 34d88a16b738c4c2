"""The lake on S3-compatible object storage, with moto's S3 server standing in for S3.

End to end on s3://: the real broker, `eventlake ingest --until-idle` and `eventlake materialize`
as processes configured only through EVENTLAKE_* variables, then the dashboard's queries, which
must give the figures of a rebuild on a local lake from the same events. Then the commit
protocol that keeps concurrent writers from losing commits on S3 (conditional PUT), and the
storage options' secrets kept out of the logs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from dashboard.data import commerce, lake_state, overview
from dashboard.data.scope import Scope, Segment
from eventlake import lake
from eventlake.catalog import BRONZE_DEAD_LETTERS, BRONZE_EVENTS
from eventlake.registry import topic_for
from eventlake.settings import Settings
from ingest.simulator import SimulationOptions, simulate
from kafka_io import outgoing
from operations import maintenance
from orchestration.jobs import DAY_TABLES, WHOLE_TABLES
from orchestration.materialize import event_day_span, materialize_days
from tests.assets.bronze_log_rows import append_bronze, login, noon
from tests.ingest import conftest as ingest_fixtures
from tests.s3_lake_checks import (
    ACCESS_KEY,
    APPENDS,
    SECRET,
    moto_server,
    parquet_files,
    rows,
    s3_env,
    stored_texts,
)

# Importable once `tests.ingest.conftest` (imported above) put its folder on sys.path
from ingest_checks import assert_exactly_once, produce, true_ends  # isort: skip
from processes import EVENTLAKE, env_for  # isort: skip

broker_bootstrap = ingest_fixtures.broker_bootstrap  # the ingest tests' broker, as a fixture here
ROOT = Path(__file__).resolve().parents[1]

TRAFFIC = SimulationOptions(count=3000, days=2, users=150, seed=21, duplicates=0.02, malformed=0.02)


def signed_up_buyer(settings: Settings) -> list[tuple[str, bytes, bytes]]:
    """Returns a signup and an order of one new user, 2 and 1 hours ago, as (topic, key, value).

    Whether a simulated user who signed up also orders within two days depends on the hour the
    simulation starts; these two messages make the segment case certain.
    """
    now, user = datetime.now(UTC), "u-s3-buyer"
    events = [
        outgoing.user_signup(user, signup_source="organic", plan="pro", country="DE",
                             at=now - timedelta(hours=2), metadata={"source": "web"}),
        outgoing.order_placed(user, order_id="o-s3-buyer", currency="EUR",
                              items=[outgoing.OrderItem("P0001", 2, 10.5)],
                              at=now - timedelta(hours=1), metadata={"source": "web"}),
    ]  # fmt: skip
    return [(topic_for(e.event_type, settings.topics), e.key, e.value) for e in events]


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """The URL of a moto S3 server on a free port, for the module's tests."""
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def s3_settings(moto_endpoint: str) -> Settings:
    """Settings for an empty lake in a fresh bucket, read from EVENTLAKE_* as a process would."""
    return Settings.from_env(env=s3_env(moto_endpoint))


@dataclass(frozen=True)
class S3Run:
    """What the end-to-end run on s3:// left: its settings, span of days and process outputs."""

    settings: Settings
    first: date
    last: date
    produced: int
    ingest_output: str
    materialize_output: str
    dagster_home: Path  # the instance `eventlake materialize` recorded its runs in


def s3_env_of(settings: Settings) -> dict[str, str]:
    """Returns the EVENTLAKE_* variables of the lake of `settings`."""
    options = json.dumps(dict(settings.storage_options))
    return {"EVENTLAKE_LAKE_ROOT": settings.lake_root, "EVENTLAKE_STORAGE_OPTIONS": options}


def run_cli(settings: Settings, *args: str, cwd: Path) -> str:
    """Returns the output (stdout and stderr) of `eventlake ARGS` run with `settings`'s env,
    with `cwd` as DAGSTER_HOME (a persistent Dagster instance, as a deployment has)."""
    env = {**env_for(settings), **s3_env_of(settings), "DAGSTER_HOME": str(cwd)}
    done = subprocess.run(
        [EVENTLAKE, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=600
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    return output


@pytest.fixture(scope="module")
def s3_run(
    moto_endpoint: str, broker_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> S3Run:
    """Simulated traffic ingested into a lake on s3:// and materialized there, by processes."""
    settings = ingest_fixtures.fresh_settings(
        Settings.from_env(env=s3_env(moto_endpoint)), broker_bootstrap
    )
    sim = simulate(settings, TRAFFIC, progress=False)
    produce(settings, signed_up_buyer(settings))
    cwd = tmp_path_factory.mktemp("s3-run")  # also the DAGSTER_HOME of materialize
    ingested = run_cli(settings, "ingest", "--until-idle", "--log-level", "DEBUG", cwd=cwd)
    first, last = event_day_span(settings)
    materialized = run_cli(
        settings, "materialize", "--from", str(first), "--to", str(last),
        "--log-level", "DEBUG", cwd=cwd,
    )  # fmt: skip
    return S3Run(settings, first, last, sim.produced + 2, ingested, materialized, cwd)


def test_the_ingester_writes_every_offset_once_to_s3(s3_run: S3Run) -> None:
    found = assert_exactly_once(s3_run.settings, true_ends(s3_run.settings))

    assert found.height == s3_run.produced
    dead = lake.scan(s3_run.settings, BRONZE_DEAD_LETTERS).collect()
    assert dead.height > 0  # the malformed messages reached the dead letters on S3 too
    table = lake.open_table(s3_run.settings, BRONZE_EVENTS)
    assert table is not None and table.table_uri.startswith("s3://")


def test_dashboard_figures_on_s3_match_a_local_rebuild(s3_run: S3Run, tmp_path: Path) -> None:
    s3 = s3_run.settings
    local = Settings.from_env(env={}, lake_root=str(tmp_path / "lake"))
    lake.append(local, BRONZE_EVENTS, lake.scan(s3, BRONZE_EVENTS).collect())
    materialize_days(local, s3_run.first, s3_run.last)

    for spec in (*DAY_TABLES, *WHOLE_TABLES):  # every table materialize wrote
        on_s3, here = (lake.scan(s, spec).collect().sort(pl.all()) for s in (s3, local))
        assert on_s3.height > 0, f"{spec.name} is empty on S3"
        assert_frame_equal(on_s3, here, check_exact=False)

    scope = Scope(s3_run.first, s3_run.last)
    signed_up = Segment(plans=("free", "pro", "business"))  # users with a signup event
    for query in (
        lambda s: overview.active_users(s, scope),
        lambda s: overview.revenue(s, scope),
        lambda s: overview.revenue(s, replace(scope, segment=signed_up)),
        lambda s: commerce.revenue_by_product(s, scope),
        lambda s: commerce.product_performance(s, scope),
        lambda s: commerce.funnel(s, scope),
    ):
        on_s3, here = query(s3), query(local)
        assert on_s3.height > 0
        assert_frame_equal(on_s3, here, check_exact=False)
    assert (
        lake_state.data_range(s3, Scope())
        == lake_state.data_range(local, Scope())
        == (s3_run.first, s3_run.last)
    )
    assert lake_state.newest_event_time(s3, Scope()) == lake_state.newest_event_time(local, Scope())
    fresh = lake_state.freshness(
        s3, Scope()
    )  # the overview's "last commit" line reads the Delta history
    events, bronze = lake.open_table(s3, BRONZE_EVENTS), fresh.table(BRONZE_EVENTS.name)
    assert events is not None and bronze is not None and bronze.version == events.version()
    assert all(t.last_commit is not None for t in fresh.tables)

    # ...and the revenue counts every order id of bronze once (figures straight from the log)
    orders = (
        lake.scan(s3, BRONZE_EVENTS)
        .filter(pl.col("event_type") == "order_placed")
        .select(pl.col("payload").str.json_path_match("$.order_id").n_unique())
        .collect()
        .item()
    )
    assert overview.revenue(s3, scope)["orders"].sum() == orders


def test_secrets_of_the_storage_options_never_reach_the_logs(s3_run: S3Run) -> None:
    for output in (s3_run.ingest_output, s3_run.materialize_output):
        assert SECRET not in output
        assert ACCESS_KEY not in output
    # Dagster's run storage and event logs (what its UI shows) hold the variable's name only
    stored = list(stored_texts(s3_run.dagster_home))
    assert not [text for text in stored if SECRET in text or ACCESS_KEY in text]
    assert any("EVENTLAKE_STORAGE_OPTIONS" in text for text in stored)
    # the ingester did log its storage options, masked (so the check above could fail)
    assert "'AWS_SECRET_ACCESS_KEY': '***'" in s3_run.ingest_output
    assert f"'AWS_ENDPOINT_URL': '{s3_run.settings.storage_options['AWS_ENDPOINT_URL']}'" in (
        s3_run.ingest_output
    )


def test_concurrent_writer_processes_all_land(s3_settings: Settings) -> None:
    writers, commits = 3, 5
    lake.ensure_table(s3_settings, APPENDS)
    env = {**os.environ, **s3_env_of(s3_settings)}
    start_at = str(time.time() + 4)  # once every process has imported its libraries
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.s3_lake_checks", f"w{i}", str(commits), start_at],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(writers)
    ]
    versions = [json.loads(p.communicate(timeout=300)[0]) for p in processes]

    assert all(p.returncode == 0 for p in processes)
    assert sorted(v for got in versions for v in got) == list(range(1, writers * commits + 1))
    got = lake.scan(s3_settings, APPENDS).collect().sort("writer", "seq")
    expected = [(f"w{i}", seq) for i in range(writers) for seq in range(commits)]
    assert got.rows() == expected  # no commit lost, none twice
    table = lake.open_table(s3_settings, APPENDS)
    assert table is not None and table.version() == writers * commits
    assert [table.transaction_version(f"w{i}") for i in range(writers)] == [commits - 1] * writers


def test_a_writer_that_is_behind_rebases_instead_of_overwriting(s3_settings: Settings) -> None:
    lake.ensure_table(s3_settings, APPENDS)
    a = lake.open_table(s3_settings, APPENDS)
    b = lake.open_table(s3_settings, APPENDS)
    assert a is not None and b is not None and a.version() == b.version() == 0

    assert lake.append_to(a, APPENDS, rows("a", 0)) == 1
    # b still sees version 0: its commit file 1 exists now, so the conditional PUT is refused
    # and delta-rs commits as version 2 instead of replacing a's commit
    assert lake.append_to(b, APPENDS, rows("b", 0)) == 2

    got = lake.scan(s3_settings, APPENDS).collect().sort("writer")
    assert got.rows() == [("a", 0), ("b", 0)]


def test_offsets_of_record_fence_writers_on_s3(s3_settings: Settings) -> None:
    lake.ensure_table(s3_settings, APPENDS)
    a = lake.open_table(s3_settings, APPENDS)
    b = lake.open_table(s3_settings, APPENDS)
    assert a is not None and b is not None

    lake.append_to(a, APPENDS, rows("a", 0), offsets={"topic-0": 10})
    with pytest.raises(lake.ConcurrentCommit):  # b read no offset for topic-0: it must re-read
        lake.append_to(b, APPENDS, rows("b", 0), offsets={"topic-0": 10})

    table = lake.refresh(b, APPENDS)
    assert table.transaction_version("topic-0") == 10
    assert lake.scan(s3_settings, APPENDS).collect().rows() == [("a", 0)]


def test_settings_from_the_environment_point_every_reader_at_s3(s3_settings: Settings) -> None:
    assert not s3_settings.is_local
    assert lake.table_uri(s3_settings, APPENDS).startswith("s3://eventlake-")
    assert lake.open_table(s3_settings, APPENDS) is None  # absent on S3 is "not yet", no error
    assert lake.scan(s3_settings, APPENDS).collect().is_empty()


def test_compaction_and_vacuum_clean_up_small_files_on_s3(s3_settings: Settings) -> None:
    day = date(2025, 3, 1)
    for i in range(6):  # six micro-batches: six small files in one day partition
        append_bronze(s3_settings, [login(f"e{i}", f"u{i}", noon(day))])
    assert parquet_files(s3_settings, BRONZE_EVENTS) == 6
    report = maintenance.compact_days(s3_settings, BRONZE_EVENTS, [day])
    assert (report.files_before, report.files_after) == (6, 1)
    vacuumed = maintenance.vacuum_table(s3_settings, BRONZE_EVENTS, retention_hours=0)

    assert vacuumed.files == 6 and parquet_files(s3_settings, BRONZE_EVENTS) == 1
    events = lake.scan(s3_settings, BRONZE_EVENTS).collect()
    assert sorted(events["event_id"]) == [f"e{i}" for i in range(6)]
