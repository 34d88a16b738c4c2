"""Fixtures of the orchestration tests: the bronze row builders of the asset tests."""

from __future__ import annotations

import sys
from pathlib import Path

# The bronze row builders live with the asset tests; share them rather than copy them.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "assets"))
