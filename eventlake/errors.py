"""The errors eventlake raises, each carrying the context a user needs to act on it."""

from __future__ import annotations


class EventlakeError(Exception):
    """Base class: a failure eventlake can explain in one line."""


class ConfigError(EventlakeError):
    """A setting (environment variable or flag) has a value eventlake cannot use."""


class BrokerUnavailable(EventlakeError):
    """The Kafka broker could not be reached or answered with an error."""


class LakeError(EventlakeError):
    """A Delta table is missing, unreadable or could not be written."""


class OffsetsAhead(EventlakeError):
    """Delta records offsets that Kafka no longer has (for example a recreated topic)."""
