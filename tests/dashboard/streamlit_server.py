"""`streamlit run dashboard/app.py` as a real server for browser tests, and a free port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """Returns a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(url: str, process: subprocess.Popen, what: str, timeout: float = 60) -> None:
    """Waits until GET `url` answers 200, failing if `process` exits first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start (exit code {process.poll()})")
        time.sleep(0.2)


def stop(process: subprocess.Popen) -> None:
    """Stops a process started in its own session, and its children."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


@contextmanager
def streamlit_app(
    lake_root: str, log: Path, *, port: int | None = None, args: Sequence[str] = ()
) -> Iterator[str]:
    """Serves the dashboard on `lake_root` (extra `streamlit run` flags in `args`); yields its
    URL, http://127.0.0.1:PORT."""
    port = port or free_port()
    env = {
        **os.environ,
        "EVENTLAKE_LAKE_ROOT": lake_root,
        "EVENTLAKE_KAFKA_BOOTSTRAP": "127.0.0.1:9",  # no broker: the lag is "unknown"
    }
    command = [
        sys.executable, "-m", "streamlit", "run", "dashboard/app.py",
        "--server.address", "127.0.0.1", "--server.port", str(port),
        "--server.headless", "true", "--browser.gatherUsageStats", "false", *args,
    ]  # fmt: skip
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        server = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(f"{url}/_stcore/health", server, f"streamlit (see {log})")
        yield url
    finally:
        stop(server)
