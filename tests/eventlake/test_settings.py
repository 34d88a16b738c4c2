"""Typed settings from the environment (docs/configuration.md)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from eventlake.errors import ConfigError
from eventlake.settings import Settings


def test_defaults_follow_the_spec() -> None:
    s = Settings.from_env(env={})
    assert s.lake_root == str(Path("./lakehouse").resolve())
    assert s.kafka_bootstrap == "127.0.0.1:9092"
    assert s.topics == ("user_events", "commerce_events")
    assert s.group_id == "eventlake-ingest"
    assert s.start_date == date(2024, 1, 1)


def test_environment_then_overrides() -> None:
    env = {
        "EVENTLAKE_LAKE_ROOT": "s3://bucket/lake/",
        "EVENTLAKE_STORAGE_OPTIONS": '{"AWS_REGION": "eu-west-1"}',
        "EVENTLAKE_TOPICS": "a, b",
        "EVENTLAKE_START_DATE": "2025-03-01",
        "EVENTLAKE_KAFKA_CONFIG": '{"security.protocol": "SASL_SSL"}',
    }
    s = Settings.from_env(env=env, group_id="g2")
    assert s.lake_root == "s3://bucket/lake" and not s.is_local
    assert s.storage_options == {"AWS_REGION": "eu-west-1"}
    assert s.topics == ("a", "b")
    assert s.start_date == date(2025, 3, 1)
    assert s.kafka_config == {"security.protocol": "SASL_SSL"}
    assert s.group_id == "g2"


@pytest.mark.parametrize(
    "var, value",
    [
        ("EVENTLAKE_START_DATE", "yesterday"),
        ("EVENTLAKE_KAFKA_CONFIG", "[1]"),
        ("EVENTLAKE_STORAGE_OPTIONS", "{not json"),
        ("EVENTLAKE_MAX_MESSAGE_BYTES", "-1"),
    ],
)
def test_bad_values_name_the_variable(var: str, value: str) -> None:
    with pytest.raises(ConfigError, match=var):
        Settings.from_env(env={var: value})


def test_secrets_never_reach_repr() -> None:
    s = Settings.from_env(
        env={
            "EVENTLAKE_KAFKA_CONFIG": '{"sasl.password": "hunter2", "sasl.username": "bob"}',
            "EVENTLAKE_STORAGE_OPTIONS": '{"AWS_SECRET_ACCESS_KEY": "s3cr3t"}',
        }
    )
    text = repr(s) + str(s.redacted())
    assert "hunter2" not in text and "s3cr3t" not in text
    assert "bob" in text


def test_the_oauthbearer_config_is_masked() -> None:
    settings = Settings.from_env(
        env={}, kafka_config={"sasl.oauthbearer.config": "principal=p secret=s3cr3t"}
    )
    assert "s3cr3t" not in repr(settings)
    assert settings.redacted()["kafka_config"] == {"sasl.oauthbearer.config": "***"}
