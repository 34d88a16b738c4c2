"""The restatement ledger: what changed when a read model's partition was written again."""

from __future__ import annotations

from typing import Literal

# The run tag saying why a run rewrites read models (written into audit/restatements.cause).
CAUSE_TAG = "eventlake/cause"
Cause = Literal["late_events", "reconciliation", "replay", "backfill"]
