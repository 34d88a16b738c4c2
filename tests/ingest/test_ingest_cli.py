"""The ingest subcommands through the installed `eventlake` script, in subprocesses."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
from ingest_checks import assert_exactly_once, free_port, true_ends, wait_for_commit
from processes import EVENTLAKE, env_for

from eventlake.settings import Settings


def run(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EVENTLAKE, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_broker_status_without_a_broker_fails_in_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "EVENTLAKE_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}"}
    done = run("broker", "status", "--state-dir", str(tmp_path), env=env, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("eventlake broker: no broker is running")


@pytest.mark.parametrize(
    "args",
    [
        ["simulate", "--rate", "-5"],
        ["simulate", "--malformed", "1.5"],
        ["simulate", "--count", "many"],
        ["ingest", "--batch-max-events", "0"],
        ["broker", "restart"],
    ],
)
def test_bad_values_are_usage_errors(args: list[str], tmp_path: Path) -> None:
    done = run(*args, env=dict(os.environ), cwd=tmp_path)
    assert done.returncode == 2
    assert "error:" in done.stderr and "Traceback" not in done.stderr


def test_help_describes_each_command_with_examples(tmp_path: Path) -> None:
    for command in (["broker"], ["simulate"], ["ingest"], ["status"]):
        done = run(*command, "--help", env=dict(os.environ), cwd=tmp_path)
        assert done.returncode == 0 and "examples:" in done.stdout, command
    simulate_help = run("simulate", "--help", env=dict(os.environ), cwd=tmp_path).stdout
    for flag in ("--count", "--rate", "--days", "--users", "--seed", "--duplicates", "--late",
                 "--out-of-order", "--malformed", "--no-progress"):  # fmt: skip
        assert flag in simulate_help


def test_simulate_ingest_status_end_to_end(kafka_settings: Settings, tmp_path: Path) -> None:
    env = env_for(kafka_settings)
    simulated = run(
        "simulate", "--count", "600", "--days", "2", "--seed", "5", "--malformed", "0.05",
        "--duplicates", "0.05", "--no-progress", env=env, cwd=tmp_path,
    )  # fmt: skip
    assert simulated.returncode == 0, simulated.stderr
    assert simulated.stdout.startswith("produced 600 messages")

    ingested = run("ingest", "--until-idle", env=env, cwd=tmp_path)
    assert ingested.returncode == 0, ingested.stderr
    assert "batch committed" in ingested.stderr
    assert_exactly_once(kafka_settings, true_ends(kafka_settings))

    shown = run("status", env=env, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    total = next(line for line in shown.stdout.splitlines() if line.startswith("total"))
    assert total.split() == ["total", "0"]
    assert "bronze/events" in shown.stdout and "dead letters: " in shown.stdout

    down = {**env, "EVENTLAKE_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}"}
    shown_down = run("status", env=down, cwd=tmp_path)
    assert shown_down.returncode == 1 and "bronze/events" in shown_down.stdout
    assert shown_down.stderr.count("\n") == 1

    missing = run("ingest", "--until-idle", "--topics", "nope_not_there", env=env, cwd=tmp_path)
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines()[-1].startswith("eventlake ingest: topic(s) nope")


def test_sigterm_commits_the_current_batch_and_exits_0(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    env = env_for(kafka_settings)
    process = subprocess.Popen(
        [EVENTLAKE, "ingest", "--batch-max-seconds", "0.2"],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        produced = run("simulate", "--count", "400", "--days", "1", "--no-progress",
                       env=env, cwd=tmp_path)  # fmt: skip
        assert produced.returncode == 0, produced.stderr
        wait_for_commit(kafka_settings, lambda: process.poll() is None)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert out.startswith("ingested: ") and "Traceback" not in err
    assert_exactly_once(kafka_settings, true_ends(kafka_settings))
