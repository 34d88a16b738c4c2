"""The command line (docs/operations.md): --help everywhere, one-line errors, exit codes."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from cli.args import CommandText
from cli.main import build_parser, main
from cli.privacy import NEW_KEY_VAR
from eventlake.settings import ENV_VARS


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


def test_a_command_text_is_its_docstring() -> None:
    doc = """one line of help

    A description
    on two lines.

    examples:
      eventlake x
      eventlake x --y
    """
    assert CommandText.of("x", doc) == CommandText(
        "one line of help",
        "A description\non two lines.",
        "examples:\n  eventlake x\n  eventlake x --y",
    )
    assert CommandText.of("x", "only help") == CommandText("only help", None, None)
    for bad in (None, "", "help that goes\non without a blank line"):
        with pytest.raises(ValueError, match="command 'x'"):
            CommandText.of("x", bad)


def test_every_command_lists_its_help_and_prints_its_text(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    listed = capsys.readouterr().out
    assert "run the ingester: Kafka to bronze, exactly once" in listed
    with pytest.raises(SystemExit):
        main(["broker", "--help"])
    out = capsys.readouterr().out
    assert "start the broker in the background and create the topics" in out  # an action's help
    assert "It listens on EVENTLAKE_KAFKA_BOOTSTRAP." in out  # the group's description
    assert "examples:\n  eventlake broker start\n" in out  # its examples, as written


@pytest.mark.parametrize("path", [[], ["reveal"], ["rotate-key"], ["new-key"]], ids=str)
def test_privacy_help_names_the_key_variables(
    path: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """The docstrings spell the variables out: they must stay the names the code reads."""
    with pytest.raises(SystemExit):
        main(["privacy", *path, "--help"])
    out = capsys.readouterr().out
    assert ENV_VARS["privacy_key"] in out
    assert (NEW_KEY_VAR in out) == (path in ([], ["rotate-key"]))  # the group lists rotate-key
