"""Test helper: a throwaway PostgreSQL server (the Debian package's binaries) on a free port.

`initdb` and `postgres` refuse to run as root, so when the suite runs as root (as in CI) they
run as the `postgres` system user the Debian package creates, in a data folder owned by it
outside pytest's root-only temporary folders. The server listens on 127.0.0.1 only, with
password (scram-sha-256) authentication, and is always stopped and deleted by `running()`.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2
from psycopg2 import sql

DEBIAN_BIN_GLOB = "/usr/lib/postgresql/*/bin"
SERVER_USER = "postgres"  # the system user the Debian package creates
SUPERUSER = "postgres"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
INSTALL_HINT = (
    "install the Debian package `postgresql` (`bash scripts/system-deps.sh postgresql`; "
    "`make test` does it)"
)


class PostgresUnavailable(RuntimeError):
    """The server cannot be started here (binaries or the `postgres` user missing, or it failed)."""


@dataclass(frozen=True)
class PostgresServer:
    """A running test server: where it listens and its superuser's password."""

    host: str
    port: int
    password: str
    log: Path

    def connect(self, dbname: str = "postgres", user: str = SUPERUSER, password: str = "") -> Any:
        """Returns a new autocommit psycopg2 connection (the superuser's unless `user` is given)."""
        conn = psycopg2.connect(
            host=self.host,
            port=self.port,
            user=user,
            password=password or self.password,
            dbname=dbname,
            connect_timeout=5,
        )
        conn.autocommit = True
        return conn

    def create_database(self, name: str, owner: str, password: str) -> None:
        """Creates a login role and a database it owns, as docs/deploy-dagster.md tells."""
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(
                    sql.SQL("CREATE ROLE {} LOGIN PASSWORD %s").format(sql.Identifier(owner)),
                    (password,),
                )
                cur.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(name), sql.Identifier(owner)
                    )
                )
        finally:
            conn.close()


def find_bin_dir() -> Path:
    """Returns the folder of the newest PostgreSQL server binaries (Debian's, else PATH's).

    Raises:
        PostgresUnavailable: no `initdb` anywhere.
    """
    found = [Path(p) for p in glob.glob(DEBIAN_BIN_GLOB) if (Path(p) / "initdb").is_file()]
    if found:
        return max(found, key=lambda p: [int(x) for x in p.parent.name.split(".") if x.isdigit()])
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise PostgresUnavailable(
        f"no PostgreSQL server binaries (initdb) in {DEBIAN_BIN_GLOB} or on PATH: {INSTALL_HINT}"
    )


def _free_port() -> int:
    """Returns a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_server_user() -> dict[str, Any]:
    """Returns the Popen arguments that drop root to the `postgres` user (none for others)."""
    if os.geteuid() != 0:
        return {}
    try:
        user = pwd.getpwnam(SERVER_USER)
    except KeyError as err:
        raise PostgresUnavailable(
            f"running as root, but there is no `{SERVER_USER}` user to run the server as: "
            f"{INSTALL_HINT}"
        ) from err
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


def _tail(path: Path, lines: int = 15) -> str:
    """Returns the last lines of a log file, for an error message."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _wait_until_accepting(server: PostgresServer, proc: subprocess.Popen[bytes]) -> None:
    """Returns once the server accepts a login; raises if it exits or takes too long."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            raise PostgresUnavailable(
                f"postgres exited with {proc.returncode} while starting:\n{_tail(server.log)}"
            )
        try:
            server.connect().close()
            return
        except psycopg2.OperationalError as err:
            if time.monotonic() > deadline:
                raise PostgresUnavailable(
                    f"postgres did not accept connections within {START_TIMEOUT_S:.0f} s "
                    f"({err}):\n{_tail(server.log)}"
                ) from err
            time.sleep(0.1)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stops the server: fast shutdown (SIGINT), then SIGKILL if it hangs."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)  # "fast": disconnects clients, no waiting for them
    try:
        proc.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=STOP_TIMEOUT_S)


@contextmanager
def running(port_attempts: int = 3) -> Iterator[PostgresServer]:
    """Yields a fresh server with an empty cluster; stops it and deletes its files on exit.

    Raises:
        PostgresUnavailable: the binaries or the `postgres` user are missing, or the server
            did not start (the message carries the end of its log).
    """
    bin_dir = find_bin_dir()
    drop = _as_server_user()
    base = Path(tempfile.mkdtemp(prefix="eventlake-pg-"))
    try:
        data, sockets, log = base / "data", base / "sock", base / "postgres.log"
        sockets.mkdir()
        password = os.urandom(12).hex()
        pwfile = base / "pwfile"
        pwfile.write_text(password + "\n")
        if drop:
            for path in (base, sockets, pwfile):
                os.chown(path, drop["user"], drop["group"])
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "TZ": "UTC"}
        initdb = subprocess.run(
            [str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER, f"--pwfile={pwfile}",
             "--auth=scram-sha-256", "--encoding=UTF8", "--no-locale", "--no-sync"],
            cwd=base, env=env, capture_output=True, text=True, timeout=120, check=False, **drop,
        )  # fmt: skip
        if initdb.returncode != 0:
            raise PostgresUnavailable(f"initdb failed: {initdb.stderr.strip() or initdb.stdout}")
        for _ in range(port_attempts):  # another process may take the port before postgres
            server = PostgresServer("127.0.0.1", _free_port(), password, log)
            with log.open("ab") as out:
                proc = subprocess.Popen(
                    [str(bin_dir / "postgres"), "-D", str(data), "-h", server.host,
                     "-p", str(server.port), "-k", str(sockets),
                     # a test server: durability buys nothing, speed does
                     "-c", "fsync=off", "-c", "synchronous_commit=off",
                     "-c", "full_page_writes=off"],
                    cwd=base, env=env, stdout=out, stderr=subprocess.STDOUT, **drop,
                )  # fmt: skip
            try:
                _wait_until_accepting(server, proc)
            except PostgresUnavailable:
                _stop(proc)
                if "could not bind" in _tail(log) or "already in use" in _tail(log):
                    continue
                raise
            try:
                yield server
            finally:
                _stop(proc)
            return
        raise PostgresUnavailable(f"no free port after {port_attempts} attempts:\n{_tail(log)}")
    finally:
        shutil.rmtree(base, ignore_errors=True)
