"""Fault tests (docs/service-levels.md): real `eventlake ingest` processes, a real broker, real Delta tables.

Crashes (SIGKILL at random moments), rebalances (ingesters joining, leaving, dying, frozen),
the broker paused with SIGSTOP/SIGCONT, and the lake unwritable for a while: after each, every
offset Kafka holds is in bronze exactly once. Run them alone with `pytest -m faults`.
"""

from __future__ import annotations

import dataclasses
import os
import random
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import fresh_settings
from ingest_checks import (
    assert_exactly_once,
    caught_up,
    events_version,
    free_port,
    true_ends,
    wait_for_commit,
)
from processes import (
    Ingester,
    SteadyProducer,
    group_offsets,
    produce_many,
    sample_until,
    scrape,
    stop_when_caught_up,
    total,
)

from eventlake.settings import Settings
from ingest.consume.ingester import ingest

pytestmark = pytest.mark.faults


def drain(settings: Settings) -> None:
    """Ingests what is left, in this process, and checks every offset is in bronze once."""
    ingest(settings, until_idle=True)
    assert_exactly_once(settings, true_ends(settings))


@pytest.mark.timeout(300)
def test_sigkill_at_random_moments_while_draining_a_million_events(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    """SIGKILL of the ingester at 20 random moments while it drains 1M events: every offset
    lands once. Each incarnation is killed at a random moment after its first commit (while
    decoding, between the dead-letter and the event commits, during a checkpoint...)."""
    # a restarted member rejoins once the dead one's session expires: keep that short
    settings = dataclasses.replace(
        kafka_settings,
        kafka_config={
            **kafka_settings.kafka_config,
            "session.timeout.ms": 1000,
            "heartbeat.interval.ms": 200,
        },
    )
    produce_many(settings, 1_000_000)
    rng = random.Random(20)
    version = events_version(settings)
    kills = 0
    while kills < 20:
        ingester = Ingester(
            settings, tmp_path / f"ingest-{kills}.log", "--batch-max-events", "8000"
        )
        version = wait_for_commit(settings, ingester.alive, after=version, timeout=60)
        time.sleep(rng.uniform(0.0, 0.6))
        ingester.kill()
        kills += 1
        version = events_version(settings)
        assert not caught_up(settings), "drained before 20 kills: produce more"
    drain(settings)


@pytest.mark.timeout(240)
def test_ingesters_joining_leaving_dying_and_frozen_write_every_offset_once(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    """Two ingesters in one group while messages keep coming: one joins, one leaves (SIGTERM),
    one dies (SIGKILL), one is frozen past its session timeout (SIGSTOP) while the other takes
    its partitions, then woken (SIGCONT): a zombie that must not commit what it lost."""
    producer = SteadyProducer(kafka_settings, rate=15_000)
    try:
        a = Ingester(kafka_settings, tmp_path / "a.log", "--batch-max-seconds", "0.3")
        a.wait_for("batch committed")
        b = Ingester(kafka_settings, tmp_path / "b.log", "--batch-max-seconds", "0.3")
        b.wait_for("batch committed")  # joined: the partitions are shared
        a.wait_for("partitions revoked")
        assert a.stop() == 0  # leaves the group: b takes everything at once
        b.wait_for("assigned", count=2)
        a2 = Ingester(kafka_settings, tmp_path / "a2.log", "--batch-max-seconds", "0.3")
        a2.wait_for("batch committed")
        b.kill()  # gone without leaving: a2 takes over after the session timeout
        a2.wait_for("assigned", count=2, timeout=30)
        b2 = Ingester(kafka_settings, tmp_path / "b2.log", "--batch-max-seconds", "0.3")
        b2.wait_for("batch committed")
        a2.signal(signal.SIGSTOP)  # frozen with batches in flight
        b2.wait_for("assigned", count=2, timeout=30)  # a2's session expired: b2 owns it all
        b2.wait_for("batch committed", count=b2.commits() + 2)
        a2.signal(signal.SIGCONT)
        b2.wait_for("batch committed", count=b2.commits() + 2)
    finally:
        producer.stop()
    for ingester in (a2, b2):
        assert ingester.stop() == 0, ingester.text()[-2000:]
    drain(kafka_settings)


@pytest.mark.timeout(180)
def test_broker_paused_for_ten_seconds(
    settings: Settings, private_broker: tuple[str, int], tmp_path: Path
) -> None:
    """SIGSTOP of the broker for 10 s under a steady stream: the ingester waits, then goes on."""
    bootstrap, broker_pid = private_broker
    s = fresh_settings(settings, bootstrap)
    producer = SteadyProducer(s, rate=5_000)
    ingester = Ingester(s, tmp_path / "ingest.log", "--batch-max-seconds", "0.5")
    try:
        ingester.wait_for("batch committed", count=2)
        os.kill(broker_pid, signal.SIGSTOP)
        try:
            for _ in sample_until(10.0):
                assert ingester.alive()
        finally:
            os.kill(broker_pid, signal.SIGCONT)
        ingester.wait_for("batch committed", count=ingester.commits() + 3, timeout=90)
    finally:
        producer.stop()
    stop_when_caught_up(s, ingester)


@contextmanager
def replaced_by_a_file(root: Path) -> Iterator[None]:
    """The lake folder moved away and a regular file put in its place: every read and every
    write under it fails (ENOTDIR), as when a mount disappears. chmod would not do: tests
    run as root."""
    away = root.with_name(root.name + ".away")
    root.rename(away)
    root.write_text("the lake is away")
    try:
        yield
    finally:
        root.unlink()
        away.rename(root)


@contextmanager
def immutable(root: Path) -> Iterator[None]:
    """Every folder and file of the lake made immutable (`chattr -R +i`): reads work, every
    write fails (EPERM), even for root."""
    subprocess.run(["chattr", "-R", "+i", str(root)], check=True)
    try:
        yield
    finally:
        subprocess.run(["chattr", "-R", "-i", str(root)], check=True)


def _chattr_works(tmp_path: Path) -> bool:
    probe = tmp_path / "chattr-probe"
    probe.mkdir()
    if shutil.which("chattr") is None:
        return False
    done = subprocess.run(["chattr", "+i", str(probe)], capture_output=True)
    if done.returncode != 0:
        return False
    try:
        (probe / "x").touch()
        return False  # not enforced here
    except OSError:
        return True
    finally:
        subprocess.run(["chattr", "-i", str(probe)], capture_output=True)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("outage", [replaced_by_a_file, immutable], ids=["gone", "read_only"])
def test_lake_unwritable_for_a_while(
    kafka_settings: Settings, tmp_path: Path, outage: Callable[[Path], object]
) -> None:
    """Bronze unwritable for 8 s under a steady stream: the ingester retries with backoff,
    pauses consumption, commits nothing to Kafka beyond bronze, then catches up."""
    if outage is immutable and not _chattr_works(tmp_path):
        pytest.skip("chattr +i is not available or not enforced here")
    port = free_port()
    producer = SteadyProducer(kafka_settings, rate=5_000)
    ingester = Ingester(
        kafka_settings,
        tmp_path / "ingest.log",
        "--batch-max-seconds",
        "0.3",
        "--metrics-port",
        str(port),
    )
    root = Path(kafka_settings.lake_root)
    try:
        ingester.wait_for("batch committed", count=2)
        with outage(root):  # type: ignore[attr-defined]
            time.sleep(0.5)  # a commit under way when it began may still land
            in_kafka = group_offsets(kafka_settings)
            seen_failing = seen_paused = False
            for _ in sample_until(8.0, every_s=0.5):
                assert ingester.alive()
                samples = scrape(port)
                seen_failing |= samples["eventlake_ingest_lake_failing"] == 1
                seen_paused |= samples["eventlake_ingest_paused"] == 1
                # offsets never move in Kafka while nothing can move in bronze
                assert group_offsets(kafka_settings) == in_kafka
            assert seen_failing and seen_paused
            assert total(scrape(port), "eventlake_ingest_write_retries_total") >= 2
        ingester.wait_for("the lake accepts commits again", timeout=60)
        ingester.wait_for("batch committed", count=ingester.commits() + 2, timeout=60)
        assert scrape(port)["eventlake_ingest_paused"] == 0
    finally:
        producer.stop()
    stop_when_caught_up(kafka_settings, ingester)
