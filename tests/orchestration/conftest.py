"""Fixtures of the orchestration tests: a Dagster home per test, bronze row builders."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

# The bronze row builders live with the asset tests; share them rather than copy them.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "assets"))


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dg.DagsterInstance]:
    """A throwaway Dagster instance (DAGSTER_HOME points at a temporary folder)."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.instance_for_test(temp_dir=str(home)) as inst:
        yield inst
