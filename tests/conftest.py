"""Fixtures every test folder shares."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventlake.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for a fresh, empty lake in a temporary folder (environment ignored)."""
    return Settings.from_env(env={}, lake_root=str(tmp_path / "lake"))
