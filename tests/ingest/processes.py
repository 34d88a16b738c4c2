"""Helpers of the fault tests: real `eventlake ingest` processes, fast producers, Kafka's view."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import polars as pl
from confluent_kafka import Consumer, Producer, TopicPartition
from ingest_checks import assert_exactly_once, caught_up, true_ends

from eventlake.settings import Settings
from ingest.kafka import cluster
from ingest.kafka.cluster import TopicPartitionKey
from ingest.simulator import SimulationOptions, messages

EVENTLAKE = str(Path(sys.executable).parent / "eventlake")


def env_for(settings: Settings) -> dict[str, str]:
    """Returns the environment that gives a subprocess `settings`."""
    return {
        **os.environ,
        "EVENTLAKE_LAKE_ROOT": settings.lake_root,
        "EVENTLAKE_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "EVENTLAKE_TOPICS": ",".join(settings.topics),
        "EVENTLAKE_GROUP_ID": settings.group_id,
        "EVENTLAKE_KAFKA_CONFIG": json.dumps(dict(settings.kafka_config)),
        "EVENTLAKE_MAX_MESSAGE_BYTES": str(settings.max_message_bytes),
        "PYTHONUNBUFFERED": "1",
    }


class Ingester:
    """An `eventlake ingest` process; its stderr goes to a log file."""

    def __init__(self, settings: Settings, log: Path, *args: str) -> None:
        self.log = log
        self._out: IO[bytes] = log.open("ab")
        self.process = subprocess.Popen(
            [EVENTLAKE, "ingest", *args],
            env=env_for(settings),
            cwd=log.parent,
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def commits(self) -> int:
        """Returns how many batches it logged as committed (this run and earlier ones)."""
        return self.text().count("batch committed")

    def wait_for(self, needle: str, *, count: int = 1, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while self.text().count(needle) < count:
            assert self.alive(), f"the ingester exited:\n{self.text()[-3000:]}"
            assert time.monotonic() < deadline, f"no {needle!r} in time:\n{self.text()[-3000:]}"
            time.sleep(0.02)

    def signal(self, sig: signal.Signals) -> None:
        self.process.send_signal(sig)

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM, then returns the exit code (SIGKILL after `timeout`)."""
        if self.alive():
            self.process.send_signal(signal.SIGCONT)
            self.process.send_signal(signal.SIGTERM)
        return self.finish(timeout)

    def kill(self) -> None:
        if self.alive():
            self.process.kill()
        self.finish(10)

    def finish(self, timeout: float) -> int:
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGUSR1)  # the ingester dumps its threads' stacks
            time.sleep(1.0)
            self.process.kill()
            code = self.process.wait(10)
        self._out.close()
        return code


def stop_when_caught_up(
    settings: Settings, ingester: Ingester, *, timeout: float = 60.0
) -> pl.DataFrame:
    """Waits until bronze holds every offset Kafka has (the ingester alive), stops the ingester
    (exit code 0), and asserts every offset is in bronze exactly once; returns the offsets."""
    deadline = time.monotonic() + timeout
    while not caught_up(settings):
        assert time.monotonic() < deadline and ingester.alive(), ingester.text()[-2000:]
        time.sleep(0.2)
    assert ingester.stop() == 0, ingester.text()[-2000:]
    return assert_exactly_once(settings, true_ends(settings))


def message_pool(settings: Settings, n: int, *, malformed: float = 0.01, seed: int = 1) -> list:
    """Returns `n` simulated messages for the settings' topics, a few of them malformed."""
    options = SimulationOptions(
        days=10, users=2000, duplicates=0.01, late=0.01, malformed=malformed
    )
    stream = messages(
        options, seed=seed, topics=settings.topics, max_message_bytes=settings.max_message_bytes
    )
    return [m for m in itertools.islice(stream, n) if m.rejection != "too_large"]


def produce_many(settings: Settings, count: int, *, pool_size: int = 20_000) -> int:
    """Produces `count` messages (a simulated pool, cycled) as fast as the broker takes them."""
    pool = message_pool(settings, pool_size)
    producer = Producer(
        cluster.client_config(
            settings,
            {
                "linger.ms": 20,
                "batch.num.messages": 10_000,
                "enable.idempotence": True,
                "queue.buffering.max.messages": 500_000,
            },
        )
    )
    for i in range(count):
        m = pool[i % len(pool)]
        while True:
            try:
                producer.produce(m.topic, m.value, m.key)
                break
            except BufferError:
                producer.poll(0.05)
        if i % 20_000 == 0:
            producer.poll(0)
    assert producer.flush(120) == 0
    return count


class SteadyProducer:
    """Produces simulated messages at a steady rate in a thread until stopped."""

    def __init__(self, settings: Settings, rate: float) -> None:
        self.settings, self.rate = settings, rate
        self.produced = 0
        self.failed: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        pool = message_pool(self.settings, 5_000)
        producer = Producer(
            cluster.client_config(
                self.settings,
                {
                    "linger.ms": 5,
                    "enable.idempotence": True,
                    "message.timeout.ms": 120_000,
                },
            )
        )

        def delivered(err, msg) -> None:  # type: ignore[no-untyped-def]
            if err is not None:
                self.failed.append(err.str())

        started = time.monotonic()
        for m in itertools.cycle(pool):
            if self._stop.is_set():
                break
            ahead = started + self.produced / self.rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
            producer.produce(m.topic, m.value, m.key, on_delivery=delivered)
            self.produced += 1
            producer.poll(0)
        assert producer.flush(120) == 0

    def stop(self) -> int:
        self._stop.set()
        self._thread.join(150)
        assert not self.failed, self.failed[:3]
        return self.produced


def group_offsets(settings: Settings) -> dict[TopicPartitionKey, int]:
    """Returns the offsets the ingesters' group committed to Kafka (absent: none)."""
    topics = cluster.require_topics(settings, settings.topics)
    consumer = Consumer(
        cluster.client_config(
            settings, {"group.id": settings.group_id, "enable.auto.commit": False}
        )
    )
    try:
        tps = [TopicPartition(t, p) for t, p in cluster.partitions_of(topics)]
        committed = consumer.committed(tps, timeout=10)
    finally:
        consumer.close()
    return {(tp.topic, tp.partition): tp.offset for tp in committed if tp.offset >= 0}


def scrape(port: int) -> dict[str, float]:
    """Returns the samples of a Prometheus endpoint (name{labels} -> value)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def total(samples: dict[str, float], name: str) -> float:
    """Returns the sum of every sample of a metric (all label values)."""
    return sum(v for k, v in samples.items() if k == name or k.startswith(name + "{"))


def sample_until(deadline_s: float, every_s: float = 0.2) -> Iterator[float]:
    """Yields the elapsed time every `every_s` seconds until `deadline_s`."""
    started = time.monotonic()
    while (elapsed := time.monotonic() - started) < deadline_s:
        yield elapsed
        time.sleep(every_s)
