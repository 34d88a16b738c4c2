"""Helpers of the S3 lake tests: a moto S3 server, lakes in its buckets, a writer process, and
what Dagster stored.

`python -m tests.s3_lake_checks WRITER COMMITS START_AT` is one concurrent writer: from the
moment START_AT (epoch seconds) it appends COMMITS one-row commits to `APPENDS` in the lake of
its EVENTLAKE_* environment, each recording its sequence number as the txn of app id WRITER.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import polars as pl

from eventlake import lake
from eventlake.catalog import TableSpec
from eventlake.settings import Settings

REGION = "us-east-1"
ACCESS_KEY = "AKIAEVENTLAKETEST"
SECRET = f"moto-secret-{uuid.uuid4().hex}"  # must never show up in any output
# A table of these tests only: who appended which row (commits need no catalog table)
APPENDS = TableSpec(
    "scratch/appends",
    "bronze",
    pl.Schema({"writer": pl.String(), "seq": pl.Int64()}),
    (),
    "One row per append of a concurrent-writers test.",
)


@contextlib.contextmanager
def moto_server(timeout: float = 30.0) -> Iterator[str]:
    """Yields the URL of moto's S3 server, run in a process of its own on a free port.

    Not `ThreadedMotoServer`: some delta-rs calls (`DeltaTable.history()` in deltalake 1.6)
    hold the GIL while they wait for S3, which deadlocks against a server thread of the same
    process. A real S3 is another process too.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + timeout
        while not _listening(port):
            assert server.poll() is None, "moto's server exited"
            assert time.monotonic() < deadline, f"moto's server is not up after {timeout} s"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def s3_env(endpoint: str) -> dict[str, str]:
    """Returns the EVENTLAKE_* variables of a lake in a fresh bucket of the S3 server."""
    bucket = f"eventlake-{uuid.uuid4().hex[:12]}"
    options = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_ALLOW_HTTP": "true",  # moto speaks plain HTTP; real S3 needs none of this
    }
    s3_client(options).create_bucket(Bucket=bucket)
    return {
        "EVENTLAKE_LAKE_ROOT": f"s3://{bucket}/lake",
        "EVENTLAKE_STORAGE_OPTIONS": json.dumps(options),
    }


def s3_client(options: dict[str, str]) -> Any:
    """Returns a boto3 S3 client for the server and credentials of storage `options`."""
    return boto3.client(
        "s3",
        endpoint_url=options["AWS_ENDPOINT_URL"],
        region_name=options["AWS_REGION"],
        aws_access_key_id=options["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=options["AWS_SECRET_ACCESS_KEY"],
    )


def parquet_files(settings: Settings, spec: TableSpec) -> int:
    """Returns how many Parquet files lie in the bucket under the table's folder."""
    bucket, _, root = settings.lake_root.removeprefix("s3://").partition("/")
    listed = s3_client(dict(settings.storage_options)).list_objects_v2(
        Bucket=bucket, Prefix=f"{root}/{spec.name}/"
    )
    return sum(o["Key"].endswith(".parquet") for o in listed.get("Contents", []))


def rows(writer: str, seq: int) -> pl.DataFrame:
    """Returns the one row `writer` appends as its `seq`-th commit."""
    return pl.DataFrame({"writer": [writer], "seq": [seq]})


def write_appends(settings: Settings, writer: str, commits: int) -> list[int]:
    """Returns the table versions of `commits` appends of `writer`, each with its txn."""
    versions = []
    for seq in range(commits):
        for _ in range(20):  # a commit that lost every one of delta-rs's rebases is retried
            with contextlib.suppress(lake.ConcurrentCommit):
                versions.append(
                    lake.append(settings, APPENDS, rows(writer, seq), offsets={writer: seq})
                )
                break
    return versions


def stored_texts(home: Path) -> Iterator[str]:
    """Yields the content of every file under `home` and of every cell of its SQLite files
    (Dagster stores snapshots zlib-compressed: those are yielded decompressed)."""
    for path in sorted(p for p in home.rglob("*") if p.is_file()):
        yield path.read_bytes().decode(errors="replace")
        if path.suffix != ".db":
            continue
        with contextlib.closing(sqlite3.connect(path)) as db:
            tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            for table in tables:
                for row in db.execute(f'SELECT * FROM "{table}"'):
                    for cell in row:
                        if isinstance(cell, bytes):
                            with contextlib.suppress(zlib.error):
                                cell = zlib.decompress(cell)
                            cell = cell.decode(errors="replace")
                        yield str(cell)


if __name__ == "__main__":
    name, count, start_at = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    time.sleep(max(0.0, start_at - time.time()))  # start together with the other writers
    print(json.dumps(write_appends(Settings.from_env(), name, count)))
