"""The librdkafka config of every Kafka client eventlake creates, and one-line errors about it.

Every client (the ingester's consumer, the metadata, topic-id and end-offset clients, the
simulator's producer, the local broker's admin) gets its config from `client_config`: the
bootstrap servers, the caller's defaults, then `settings.kafka_config` (EVENTLAKE_KAFKA_CONFIG)
on top, so SASL, TLS and any tuning pass through unchanged, then what the caller's logic
depends on. librdkafka's own log lines go to Python logging instead of raw stderr.

No error built here shows a secret: the values of secret-looking keys (those
`Settings.redacted()` masks) are blanked out of every message made from librdkafka's text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from confluent_kafka import KafkaError, KafkaException

from eventlake.errors import ConfigError
from eventlake.settings import Settings

_LIBRDKAFKA_LOG = logging.getLogger("ingest.librdkafka")
# Properties that take a Python callable: JSON cannot give one, and a string there fails late.
_CALLBACKS = frozenset(
    {"error_cb", "throttle_cb", "stats_cb", "oauth_cb", "logger", "on_commit", "on_delivery"}
)
_JSON_TYPES = {dict: "an object", list: "an array", type(None): "null"}
# Client-level errors no retry cures: the broker refused who we are, or we refused its
# certificate. Waiting out the request timeout would only delay the same answer.
_REFUSED = frozenset(
    {KafkaError._AUTHENTICATION, KafkaError._SSL, KafkaError.SASL_AUTHENTICATION_FAILED}
)

ClientT = TypeVar("ClientT")


def client_config(
    settings: Settings,
    defaults: Mapping[str, Any] | None = None,
    *,
    fixed: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Returns a librdkafka config: bootstrap, `defaults`, `settings.kafka_config`, `fixed`.

    `fixed` holds what the caller's logic depends on, which no setting may override.

    Raises:
        ConfigError: EVENTLAKE_KAFKA_CONFIG holds something librdkafka cannot take.
    """
    check_kafka_config(settings.kafka_config)
    return {
        "bootstrap.servers": settings.kafka_bootstrap,
        "logger": _LIBRDKAFKA_LOG,
        **(defaults or {}),
        **settings.kafka_config,
        **(fixed or {}),
    }


def check_kafka_config(config: Mapping[str, Any]) -> None:
    """Returns when every entry of EVENTLAKE_KAFKA_CONFIG can be handed to librdkafka.

    librdkafka checks names and values itself (`new_client`); this catches what it would take
    silently or fail on obscurely: JSON objects, arrays and null as values, Python callback
    properties, and certificate or key files that do not exist.

    Raises:
        ConfigError: the first entry that cannot be used (its value is never shown).
    """
    for key, value in config.items():
        if key in _CALLBACKS:
            raise ConfigError(
                f"EVENTLAKE_KAFKA_CONFIG: {key} takes a Python function, which JSON cannot give"
            )
        if not isinstance(value, str | int | float | bool):
            kind = _JSON_TYPES.get(type(value), type(value).__name__)
            raise ConfigError(
                f"EVENTLAKE_KAFKA_CONFIG: {key} must be a string, number or boolean, not {kind}"
            )
        # `probe` asks librdkafka to look in the usual system places: not a path
        if key.endswith(".location") and value != "probe" and not Path(str(value)).exists():
            raise ConfigError(f"EVENTLAKE_KAFKA_CONFIG: {key}: no such file or folder: {value}")


def new_client(factory: Callable[[dict[str, Any]], ClientT], config: dict[str, Any]) -> ClientT:
    """Returns `factory(config)`: a Kafka client (Consumer, Producer, AdminClient).

    Raises:
        ConfigError: librdkafka refused the config (a bad EVENTLAKE_KAFKA_CONFIG), e.g. an
            unknown property, a value of the wrong form, or a key it cannot decrypt.
    """
    try:
        return factory(config)
    except (KafkaException, TypeError, ValueError) as err:
        reason = err.args[0].str() if isinstance(err, KafkaException) and err.args else str(err)
        if "ssl.key.location failed" in reason:  # OpenSSL only says "PEM lib"
            reason += " (is ssl.key.password right, and the file a PEM private key?)"
        # not chained: the original exception's text is not scrubbed
        raise ConfigError(f"EVENTLAKE_KAFKA_CONFIG: {scrub(reason, config)}") from None


def scrub(text: str, config: Mapping[str, Any]) -> str:
    """Returns `text` with the value of every secret-looking key of `config` replaced by ***."""
    masked = Settings(kafka_config=config).redacted()["kafka_config"]
    for key, value in config.items():
        secret = str(value)
        if masked[key] == "***" and secret and secret != "***":
            text = text.replace(secret, "***")
    return text


class ConnectErrors:
    """Why a client's requests get no answer: its `error_cb`, and its `logger` in passing.

    librdkafka retries connections by itself; a request just times out. The reasons reach only
    the error callback (authentication, TLS) and the log (a peer that hangs up). Collected
    here, they can be told in one line, and a refusal at once instead of after the timeout.
    """

    def __init__(self) -> None:
        self.refused: str | None = None  # authentication or TLS failure: no retry cures it
        self.last: str | None = None  # the last other failure (which broker, and why)

    def __call__(self, err: KafkaError) -> None:
        if err.code() in _REFUSED:
            self.refused = err.str()
        elif err.code() != KafkaError._ALL_BROKERS_DOWN:  # says less than what came before
            self.last = err.str()

    def log(self, level: int, msg: str, *args: Any) -> None:
        """Passes a librdkafka log line on to Python logging; keeps a connection failure's."""
        _LIBRDKAFKA_LOG.log(level, msg, *args)
        if len(args) == 3 and args[0] == "FAIL":  # (facility, client name, text)
            self.last = str(args[2]).split("]: ", 1)[-1]  # without the "[thrd:...]" prefix

    def reason(self) -> str | None:
        """Returns the last failure, with a hint when the broker hung up before speaking Kafka."""
        if self.last is not None and "in state APIVERSION_QUERY" in self.last:
            return (
                f"{self.last}: the listener closed the connection at the first request (a TLS "
                "listener, or one that wants a client certificate? check security.protocol and "
                "ssl.* in EVENTLAKE_KAFKA_CONFIG)"
            )
        return self.last
