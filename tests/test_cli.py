"""The command line (docs/operations.md): --help everywhere, one-line errors, exit codes."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from cli.main import build_parser, main


def command_paths(
    parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()
) -> list[tuple[str, ...]]:
    """Returns every (sub)command path of the parser, e.g. ("broker", "start")."""
    paths = [prefix]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                paths += command_paths(sub, (*prefix, name))
    return paths


PATHS = command_paths(build_parser())


def test_every_spec_command_exists(capsys: pytest.CaptureFixture[str]) -> None:
    assert {"broker", "simulate", "ingest", "materialize", "up", "status"} <= {
        p[0] for p in PATHS if p
    }
    with pytest.raises(SystemExit):
        main(["broker", "--help"])
    assert {"start", "stop", "status"} <= set(capsys.readouterr().out.replace(",", " ").split())


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "eventlake")
def test_help_on_every_command(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*path, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: eventlake") and len(out.splitlines()) > 3


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["no-such-command"],
        ["simulate", "--rate", "-5"],
        ["simulate", "--count", "many"],
        ["ingest", "--no-such-flag"],
        ["materialize", "--from", "yesterday"],
        ["up", "--dagster-port", "70000"],
    ],
)
def test_usage_errors_exit_2_with_one_line(argv: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", *argv], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith("eventlake") and "Traceback" not in result.stderr


def test_bad_environment_is_a_usage_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "status"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"EVENTLAKE_START_DATE": "someday", "PATH": ""},
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "eventlake: EVENTLAKE_START_DATE: Invalid isoformat string: 'someday'"
    )
