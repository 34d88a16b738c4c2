"""Helpers of the security tests: a throwaway PKI, a TLS terminator, a Tansu broker behind it.

The bundled Tansu 0.6 cannot serve TLS itself: its `--cert` and `--key` flags are declared in
one clap group, so passing both is refused ("cannot be used with"), and it needs both. So TLS
ends in `TlsTerminator` (Python's ssl, a real handshake with a real certificate, client
certificates checked when asked), which forwards the bytes to the broker's plain listener; the
broker advertises the terminator's address, so every connection of every client goes through
TLS, as with a broker behind a TLS load balancer.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ingest.kafka import cluster
from ingest.tools.broker import tansu_binary


@dataclass(frozen=True)
class Pki:
    """The PEM files of a CA, a server certificate (127.0.0.1) and a client certificate."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path  # encrypted with the password given to `make_pki`


def make_pki(folder: Path, *, client_key_password: str) -> Pki:
    """Returns a fresh CA with a server and a client certificate, written to `folder`."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("eventlake test CA")
    ca = _certificate(ca_name, ca_name, ca_key.public_key(), ca_key, ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = _certificate(
        _name("localhost"), ca_name, server_key.public_key(), ca_key,
        usage=ExtendedKeyUsageOID.SERVER_AUTH,
        names=[x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))],
    )  # fmt: skip
    client_key = ec.generate_private_key(ec.SECP256R1())
    client = _certificate(
        _name("eventlake-ingest"), ca_name, client_key.public_key(), ca_key,
        usage=ExtendedKeyUsageOID.CLIENT_AUTH,
    )  # fmt: skip
    pki = Pki(*(folder / n for n in ("ca.pem", "server.pem", "server-key.pem", "client.pem",
                                     "client-key.pem")))  # fmt: skip
    for path, cert in ((pki.ca, ca), (pki.server_cert, server), (pki.client_cert, client)):
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pki.server_key.write_bytes(_pem(server_key, serialization.NoEncryption()))
    encryption = serialization.BestAvailableEncryption(client_key_password.encode())
    pki.client_key.write_bytes(_pem(client_key, encryption))
    return pki


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem(
    key: ec.EllipticCurvePrivateKey, encryption: serialization.KeySerializationEncryption
) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def _certificate(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    signing_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool = False,
    usage: x509.ObjectIdentifier | None = None,
    names: list[x509.GeneralName] | None = None,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(signing_key, hashes.SHA256())


class TlsTerminator:
    """A TLS listener on 127.0.0.1 that forwards each connection's bytes to a plain port."""

    def __init__(self, pki: Pki, upstream_port: int, *, require_client_cert: bool) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(pki.server_cert, pki.server_key)
        if require_client_cert:  # mutual TLS: only certificates signed by our CA get in
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(pki.ca)
        self.upstream_port = upstream_port
        self.connections = 0  # that completed the TLS handshake
        self._loop = asyncio.new_event_loop()
        self._loop.set_exception_handler(lambda loop, ctx: None)  # failed handshakes: expected
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._forward, "127.0.0.1", 0, ssl=context)
        )
        self.port: int = self._server.sockets[0].getsockname()[1]
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    def close(self) -> None:
        """Stops listening and ends the thread (open connections die with the loop)."""
        self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


async def _pipe(source: asyncio.StreamReader, target: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, ssl.SSLError):
        while data := await source.read(256 * 1024):
            target.write(data)
            await target.drain()
    with contextlib.suppress(OSError, ssl.SSLError, RuntimeError):
        target.close()


def start_tansu(port: int, advertised_port: int, log: Path, *flags: str) -> subprocess.Popen[bytes]:
    """Returns a Tansu broker process listening on `port`, advertising `advertised_port`."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            [str(tansu_binary()), "broker",
             "--listener-url", f"tcp://127.0.0.1:{port}",
             "--advertised-listener-url", f"tcp://127.0.0.1:{advertised_port}", *flags],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    deadline = time.monotonic() + 15
    while not cluster.port_open("127.0.0.1", port):
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "the broker did not listen in time"
        time.sleep(0.02)
    return process
