"""Structured logs: one JSON object per line (`eventlake ingest --log-format json`).

Fields: `ts` (UTC, ISO 8601), `level`, `logger`, `message`, plus whatever a call passes in
`extra` (the ingester's batch lines carry a `batch` object with counts, versions and timings).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

# the attributes every LogRecord has; anything else came in through `extra`
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON."""

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        data.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str)


def use_json_logs() -> None:
    """Switches every handler of the root logger to JSON lines."""
    for handler in logging.getLogger().handlers:
        handler.setFormatter(JsonFormatter())
