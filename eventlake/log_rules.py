"""The rules every part reads the bronze log by: Delta txn app ids, the first copy of a duplicate.

Each has this one home; the ingester writes by them, and silver, the audits, replay, retention
and the command line read by them (docs/architecture.md, "Ingestion: exactly once").
"""

from __future__ import annotations

from datetime import date

# The order of the copies of one event_id in bronze: the first is the one silver keeps.
WINNER_ORDER = ("ingested_at", "kafka_topic", "kafka_partition", "kafka_offset")

SILVER_APP_ID = "eventlake-silver"  # txn app id prefix: the bronze version a silver day reflects
REPLAY_APP_ID = "eventlake-replay"  # txn app id of replay commits; its version counts them
RETENTION_APP_ID = "eventlake-retention"  # txn app id: the last retirement pass that committed


def offset_app_id(topic: str, partition: int) -> str:
    """Returns the Delta txn app id that records the ingester's offset of one partition."""
    return f"eventlake-ingest/{topic}/{partition}"


def topic_app_id(topic: str) -> str:
    """Returns the Delta txn app id that records which incarnation of `topic` bronze follows."""
    return f"eventlake-ingest-topic/{topic}"


def silver_day_app_id(day: date) -> str:
    """Returns the txn app id that records which bronze version silver's `day` reflects."""
    return f"{SILVER_APP_ID}/{day.isoformat()}"
