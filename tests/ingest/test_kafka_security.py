"""Kafka over TLS (mutual) and SASL, configured only through EVENTLAKE_KAFKA_CONFIG.

A real TLS handshake with a certificate made here: the broker advertises only the TLS
terminator's address (`tls_broker`: Tansu 0.6 cannot serve TLS itself), so a client that
ignored EVENTLAKE_KAFKA_CONFIG would not get a single byte through. Tansu checks SASL/SCRAM
credentials (`--authentication`) but cannot store a user (it acknowledges
AlterUserScramCredentials and keeps nothing), so a SASL login can only be shown to fail here:
with a clear line, and without showing the password.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import FAST_GROUP, MAX_MESSAGE_BYTES
from ingest_checks import assert_exactly_once, free_port, true_ends
from processes import EVENTLAKE, env_for
from tls_broker import Pki, TlsTerminator, make_pki, start_tansu

from cli.main import main
from eventlake.settings import Settings
from ingest.simulator import SimulationOptions, simulate
from ingest.tools import broker
from kafka_io.config import scrub

KEY_PASSWORD = f"key-pw-{uuid.uuid4().hex}"  # the client key's: must never show up anywhere
SASL_PASSWORD = f"sasl-pw-{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"), client_key_password=KEY_PASSWORD)


@pytest.fixture(scope="module")
def mtls_broker(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsTerminator]:
    """A broker reachable only through mutual TLS (client certificates of our CA)."""
    yield from _behind_tls(pki, tmp_path_factory, require_client_cert=True)


@pytest.fixture(scope="module")
def sasl_broker(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsTerminator]:
    """A broker that requires SASL authentication, reachable only through TLS."""
    yield from _behind_tls(pki, tmp_path_factory, "--authentication", require_client_cert=False)


def _behind_tls(
    pki: Pki, tmp: pytest.TempPathFactory, *flags: str, require_client_cert: bool
) -> Iterator[TlsTerminator]:
    port = free_port()
    terminator = TlsTerminator(pki, port, require_client_cert=require_client_cert)
    process = start_tansu(port, terminator.port, tmp.mktemp("tansu") / "broker.log", *flags)
    try:
        yield terminator
    finally:
        process.terminate()
        process.wait(10)
        terminator.close()


def mtls_config(pki: Pki, **overrides: str) -> dict[str, Any]:
    """Returns the EVENTLAKE_KAFKA_CONFIG of a client with our CA and its own certificate."""
    config = {
        "security.protocol": "SSL",
        "ssl.ca.location": str(pki.ca),
        "ssl.certificate.location": str(pki.client_cert),
        "ssl.key.location": str(pki.client_key),
        "ssl.key.password": KEY_PASSWORD,
        **FAST_GROUP,
        **overrides,
    }
    return {k: v for k, v in config.items() if v != ""}  # "": leave the key out


def secure_settings(
    settings: Settings, terminator: TlsTerminator, config: dict[str, Any]
) -> Settings:
    tag = uuid.uuid4().hex[:8]
    return dataclasses.replace(
        settings,
        kafka_bootstrap=f"127.0.0.1:{terminator.port}",
        topics=(f"secure_events_{tag}",),
        group_id=f"eventlake-secure-{tag}",
        kafka_config=config,
        max_message_bytes=MAX_MESSAGE_BYTES,
    )


def eventlake(settings: Settings, cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """Runs `eventlake ARGV` configured only through the EVENTLAKE_* environment."""
    return subprocess.run(
        [EVENTLAKE, *argv], env=env_for(settings), cwd=cwd, capture_output=True, text=True,
        timeout=180,
    )  # fmt: skip


def test_simulate_ingest_and_status_over_mutual_tls_from_configuration_alone(
    settings: Settings, mtls_broker: TlsTerminator, pki: Pki, tmp_path: Path
) -> None:
    s = secure_settings(settings, mtls_broker, mtls_config(pki))
    assert broker.ensure_topics(s, partitions=3) == list(s.topics)  # an admin client, over TLS
    traffic = SimulationOptions(count=1500, days=2, users=100, seed=8, duplicates=0.02,
                                malformed=0.02)  # fmt: skip
    produced = simulate(s, traffic, progress=False)  # the simulator's producer, over TLS
    connections = mtls_broker.connections

    ingested = eventlake(s, tmp_path, "ingest", "--until-idle", "--log-level", "DEBUG")
    assert ingested.returncode == 0, ingested.stderr[-3000:]
    assert mtls_broker.connections > connections  # the ingester's clients came through TLS
    ends = true_ends(s)
    assert sum(ends.values()) == produced.produced == 1500
    assert_exactly_once(s, ends)

    status = eventlake(s, tmp_path, "status")
    assert status.returncode == 0, status.stderr
    assert f"broker  127.0.0.1:{mtls_broker.port}: up" in status.stdout
    assert next(line for line in status.stdout.splitlines() if line.startswith("total")).split() == [
        "total", "0"
    ]  # fmt: skip
    # the settings were logged (at DEBUG), with the key's password masked
    assert "'ssl.key.password': '***'" in ingested.stderr
    for output in (ingested.stdout, ingested.stderr, status.stdout, status.stderr):
        assert KEY_PASSWORD not in output


def test_a_client_without_the_ca_is_refused_in_one_line(
    settings: Settings, mtls_broker: TlsTerminator, pki: Pki, tmp_path: Path
) -> None:
    s = secure_settings(settings, mtls_broker, mtls_config(pki, **{"ssl.ca.location": ""}))
    done = eventlake(s, tmp_path, "ingest", "--until-idle")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and KEY_PASSWORD not in done.stdout + done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"eventlake ingest: Kafka at {s.kafka_bootstrap} refused the connection")
    assert "certificate verify failed" in last


def test_a_client_without_a_certificate_is_told_what_to_check(
    settings: Settings, mtls_broker: TlsTerminator, pki: Pki, tmp_path: Path
) -> None:
    config = {"security.protocol": "SSL", "ssl.ca.location": str(pki.ca), **FAST_GROUP}
    done = eventlake(secure_settings(settings, mtls_broker, config), tmp_path, "status")
    assert done.returncode == 1
    line = next(x for x in done.stdout.splitlines() if x.startswith("broker"))
    assert "DOWN (Kafka at" in line and "did not answer a metadata request within 10 s" in line
    assert "closed the connection at the first request" in line and "client certificate" in line


def test_a_wrong_key_password_is_a_config_error_that_shows_no_password(
    settings: Settings, mtls_broker: TlsTerminator, pki: Pki, tmp_path: Path
) -> None:
    wrong = f"wrong-{uuid.uuid4().hex}"
    s = secure_settings(settings, mtls_broker, mtls_config(pki, **{"ssl.key.password": wrong}))
    done = eventlake(s, tmp_path, "status")
    assert done.returncode == 2
    assert done.stdout == "" and len(done.stderr.splitlines()) == 1
    assert done.stderr.startswith("eventlake: EVENTLAKE_KAFKA_CONFIG: ")
    assert "ssl.key.location failed" in done.stderr and "ssl.key.password right" in done.stderr
    assert wrong not in done.stderr and KEY_PASSWORD not in done.stderr


def test_sasl_scram_credentials_reach_the_broker_and_a_refusal_is_one_line(
    settings: Settings, sasl_broker: TlsTerminator, pki: Pki, tmp_path: Path
) -> None:
    config = {
        "security.protocol": "SASL_SSL",
        "ssl.ca.location": str(pki.ca),
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "eventlake-ingest",
        "sasl.password": SASL_PASSWORD,
        **FAST_GROUP,
    }
    s = secure_settings(settings, sasl_broker, config)
    ingested = eventlake(s, tmp_path, "ingest", "--until-idle", "--log-level", "DEBUG")
    status = eventlake(s, tmp_path, "status")

    assert (ingested.returncode, status.returncode) == (1, 1)
    last = ingested.stderr.strip().splitlines()[-1]
    assert last.startswith(f"eventlake ingest: Kafka at {s.kafka_bootstrap} refused the connection")
    assert "SASL authentication error: SASL SCRAM authentication failed" in last
    assert "DOWN (Kafka at" in status.stdout and "SASL authentication error" in status.stdout
    for output in (ingested.stdout, ingested.stderr, status.stdout, status.stderr):
        assert SASL_PASSWORD not in output and "Traceback" not in output


@pytest.mark.parametrize(
    ("config", "says"),
    [
        ({"no.such.property": 1}, 'No such configuration property: "no.such.property"'),
        ({"security.protocol": "BOGUS"}, 'Invalid value "BOGUS" for configuration property'),
        (
            {"sasl.password": ["hunter2"]},
            "sasl.password must be a string, number or boolean, not an array",
        ),
        ({"sasl.password": None}, "sasl.password must be a string, number or boolean, not null"),
        ({"error_cb": "print"}, "error_cb takes a Python function, which JSON cannot give"),
        ({"ssl.ca.location": "/nowhere/ca.pem"}, "ssl.ca.location: no such file or folder"),
        (
            {
                "security.protocol": "SASL_SSL",
                "sasl.mechanism": "PLAIN",
                "sasl.password": "hunter2",
            },
            "sasl.username and sasl.password must be set",
        ),
    ],
    ids=["unknown", "bad-value", "array", "null", "callback", "no-file", "incomplete"],
)
def test_a_bad_kafka_config_exits_2_with_one_line(
    config: dict[str, Any],
    says: str,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("EVENTLAKE_LAKE_ROOT", settings.lake_root)
    monkeypatch.setenv("EVENTLAKE_KAFKA_BOOTSTRAP", f"127.0.0.1:{free_port()}")  # never reached
    monkeypatch.setenv("EVENTLAKE_KAFKA_CONFIG", json.dumps(config))
    assert main(["status"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("eventlake: EVENTLAKE_KAFKA_CONFIG: ") and len(err.splitlines()) == 1
    assert says in err and "hunter2" not in err


@pytest.mark.parametrize("argv", [["ingest", "--until-idle"], ["simulate", "--count", "10"]])
def test_every_command_refuses_a_bad_kafka_config(
    argv: list[str], settings: Settings, tmp_path: Path
) -> None:
    s = dataclasses.replace(settings, kafka_bootstrap=f"127.0.0.1:{free_port()}",
                            kafka_config={"fetch.wait.max.ms": "soon"})  # fmt: skip
    done = eventlake(s, tmp_path, *argv)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        "eventlake: EVENTLAKE_KAFKA_CONFIG: Invalid value for configuration property "
        '"fetch.wait.max.ms"'
    )


def test_secret_values_are_blanked_out_of_client_errors() -> None:
    config = {"sasl.password": "hunter2", "ssl.key.password": 1234, "client.id": "ingest-a"}
    text = 'Invalid value "hunter2" for "x"; 1234 tries by ingest-a'
    assert scrub(text, config) == 'Invalid value "***" for "x"; *** tries by ingest-a'
