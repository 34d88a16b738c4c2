"""Fixtures of the Kafka client tests: the real local broker and fresh topics of the ingest tests."""

from __future__ import annotations

from tests.ingest import conftest as ingest_fixtures

broker_bootstrap = ingest_fixtures.broker_bootstrap
kafka_settings = ingest_fixtures.kafka_settings
