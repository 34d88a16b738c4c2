"""Fixtures of the asset tests; `bronze_log_rows` (next to this file) builds bronze rows."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
