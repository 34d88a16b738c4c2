"""Typed settings, read once at a process's entry point from the environment (docs/configuration.md)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from eventlake.errors import ConfigError

_SECRET_KEY = re.compile(
    r"password|secret|token|key|credential|sasl\.jaas|oauthbearer\.config", re.IGNORECASE
)
_REMOTE_SCHEMES = ("s3://", "s3a://", "gs://", "az://", "abfs://", "abfss://", "memory://")

ENV_VARS: dict[str, str] = {
    "lake_root": "EVENTLAKE_LAKE_ROOT",
    "storage_options": "EVENTLAKE_STORAGE_OPTIONS",
    "kafka_bootstrap": "EVENTLAKE_KAFKA_BOOTSTRAP",
    "kafka_config": "EVENTLAKE_KAFKA_CONFIG",
    "topics": "EVENTLAKE_TOPICS",
    "group_id": "EVENTLAKE_GROUP_ID",
    "start_date": "EVENTLAKE_START_DATE",
    "max_message_bytes": "EVENTLAKE_MAX_MESSAGE_BYTES",
    "topic_pattern": "EVENTLAKE_TOPIC_PATTERN",
    "metrics_port": "EVENTLAKE_METRICS_PORT",
    "reconcile_days": "EVENTLAKE_RECONCILE_DAYS",
    "bronze_retention_days": "EVENTLAKE_BRONZE_RETENTION_DAYS",
    "vacuum_retention_hours": "EVENTLAKE_VACUUM_RETENTION_HOURS",
    "privacy_key": "EVENTLAKE_PRIVACY_KEY",
    "api_write_key": "EVENTLAKE_API_WRITE_KEY",
    "api_token": "EVENTLAKE_API_TOKEN",
    "api_max_body_bytes": "EVENTLAKE_API_MAX_BODY_BYTES",
    "api_rate_limit": "EVENTLAKE_API_RATE_LIMIT",
    "api_cors_origins": "EVENTLAKE_API_CORS_ORIGINS",
}


# The vacuum floor: a shorter retention breaks time travel ("as of") to the week before.
SAFE_VACUUM_RETENTION_HOURS = 168


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything a process needs to know about where the broker and the lake are."""

    lake_root: str = "./lakehouse"
    storage_options: Mapping[str, str] = field(default_factory=dict)
    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_config: Mapping[str, Any] = field(default_factory=dict)
    topics: tuple[str, ...] = ("user_events", "commerce_events")
    group_id: str = "eventlake-ingest"
    start_date: date = date(2024, 1, 1)
    max_message_bytes: int = 1024 * 1024
    topic_pattern: str | None = None  # a regular expression: ingest every matching topic
    metrics_port: int | None = None  # the ingester's Prometheus endpoint (None: off)
    reconcile_days: int = 7  # the closed days the nightly reconciliation compares and heals
    bronze_retention_days: int | None = None  # None: keep the event log forever
    vacuum_retention_hours: int = (
        SAFE_VACUUM_RETENTION_HOURS  # files unreferenced for longer are deleted by vacuum
    )
    # base64 of the 32-byte master key of sensitive fields (docs/privacy.md); None: stored as
    # received. A secret: masked by `redacted()` and so by repr().
    privacy_key: str | None = None
    # The HTTP API (docs/api.md). Secrets, masked by `redacted()`: the key clients send events
    # with (None: the capture endpoint refuses every request) and the bearer token of the query
    # API (None: open, for a local stack).
    api_write_key: str | None = None
    api_token: str | None = None
    api_max_body_bytes: int = 1024 * 1024  # one capture request
    api_rate_limit: int = 1000  # events per second per write key (bursts of one second's worth)
    api_cors_origins: tuple[str, ...] = ()  # web origins whose pages may call the API ("*": any)
    # Where bronze/ and dim/ are read from when that is not `lake_root`: a rebuild into a
    # scratch lake reads the real event log (set in code, never from the environment).
    log_root: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Returns settings from EVENTLAKE_* variables, then `overrides` (CLI flags) on top.

        Raises:
            ConfigError: a variable holds a value of the wrong form.
        """
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for name, var in ENV_VARS.items():
            raw = env.get(var)
            if raw is not None and raw.strip() != "":
                values[name] = _parse(name, var, raw.strip())
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)
        return replace(settings, lake_root=_normalize_root(settings.lake_root))

    @property
    def is_local(self) -> bool:
        """True when the lake is a folder on this machine."""
        return not self.lake_root.startswith(_REMOTE_SCHEMES)

    def redacted(self) -> dict[str, Any]:
        """Returns the settings as a dict fit for logs: secret-looking values are masked."""
        return {
            "lake_root": self.lake_root,
            "storage_options": {k: _mask(k, v) for k, v in self.storage_options.items()},
            "kafka_bootstrap": self.kafka_bootstrap,
            "kafka_config": {k: _mask(k, v) for k, v in self.kafka_config.items()},
            "topics": list(self.topics),
            "group_id": self.group_id,
            "start_date": self.start_date.isoformat(),
            "max_message_bytes": self.max_message_bytes,
            "topic_pattern": self.topic_pattern,
            "metrics_port": self.metrics_port,
            "reconcile_days": self.reconcile_days,
            "bronze_retention_days": self.bronze_retention_days,
            "vacuum_retention_hours": self.vacuum_retention_hours,
            "log_root": self.log_root,
            "privacy_key": None if self.privacy_key is None else "***",
            "api_write_key": None if self.api_write_key is None else "***",
            "api_token": None if self.api_token is None else "***",
            "api_max_body_bytes": self.api_max_body_bytes,
            "api_rate_limit": self.api_rate_limit,
            "api_cors_origins": list(self.api_cors_origins),
        }

    def __repr__(self) -> str:  # never let a secret reach a log through repr()
        return f"Settings({self.redacted()!r})"


def check_topic_pattern(pattern: str) -> str:
    """Returns `pattern` when it is a valid regular expression for topic names.

    Raises:
        ValueError: it is not (the message says why).
    """
    try:
        re.compile(pattern)
    except re.error as err:
        raise ValueError(f"not a regular expression: {err}") from err
    return pattern


def _mask(key: str, value: Any) -> Any:
    return "***" if _SECRET_KEY.search(key) else value


def _normalize_root(root: str) -> str:
    if root.startswith(_REMOTE_SCHEMES):
        return root.rstrip("/")
    if root.startswith("file://"):
        root = root[len("file://") :]
    return str(Path(root).expanduser().resolve())


def _parse(name: str, var: str, raw: str) -> Any:
    try:
        if name in ("storage_options", "kafka_config"):
            obj = json.loads(raw)
            if not isinstance(obj, dict):
                raise ValueError("expected a JSON object")
            if name == "storage_options":
                return {str(k): str(v) for k, v in obj.items()}
            return obj
        if name == "topics":
            topics = tuple(t.strip() for t in raw.split(",") if t.strip())
            if not topics:
                raise ValueError("expected a comma-separated list of topic names")
            return topics
        if name == "api_cors_origins":
            origins = tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
            bad = [o for o in origins if o != "*" and not re.fullmatch(r"https?://[^/\s]+", o)]
            if bad:
                raise ValueError(f"expected origins like https://app.example.com, not {bad[0]}")
            return origins
        if name == "start_date":
            return date.fromisoformat(raw)
        if name in ("max_message_bytes", "api_max_body_bytes"):
            n = int(raw)
            if n < 1:
                raise ValueError("expected a positive number of bytes")
            return n
        if name == "topic_pattern":
            return check_topic_pattern(raw)
        if name in (
            "reconcile_days",
            "bronze_retention_days",
            "vacuum_retention_hours",
            "api_rate_limit",
        ):
            n = int(raw)
            if n < 1:
                raise ValueError("expected a positive whole number")
            return n
        if name == "privacy_key":
            from eventlake.field_crypto import parse_master_key  # cryptography loads only when used

            parse_master_key(raw)  # its error never repeats the value
            return raw
        if name == "metrics_port":
            port = int(raw)
            if not 0 <= port <= 65535:
                raise ValueError("expected a TCP port (0-65535; 0 picks a free one)")
            return port
        return raw
    except ValueError as err:
        raise ConfigError(f"{var}: {err}") from err
