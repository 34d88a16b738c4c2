"""Several ingesters in one consumer group, each its own process, as on several machines.

Three `eventlake ingest` processes (distinct client ids, one EVENTLAKE_GROUP_ID) share a
6-partition topic while the simulator produces: each owns a part of the partitions at once
(seen on each one's metrics endpoint) and commits batches of its own, then all stop with
SIGTERM; every offset Kafka holds is in bronze exactly once.
"""

from __future__ import annotations

import dataclasses
import re
import threading
import uuid
from pathlib import Path

import polars as pl
from conftest import FAST_GROUP, MAX_MESSAGE_BYTES
from ingest_checks import assert_exactly_once, caught_up, free_port, true_ends
from processes import Ingester, sample_until, scrape

from eventlake import lake
from eventlake.catalog import BRONZE_INGEST_BATCHES
from eventlake.settings import Settings
from ingest.simulator import SimulationOptions, SimulationStats, simulate
from ingest.tools import broker

OWNED = "eventlake_ingest_committed_offset"  # one series per partition the ingester owns


def owned_partitions(port: int) -> set[str]:
    """Returns the partitions an ingester owns now, as `topic/partition`, from its metrics."""
    owned = set()
    for name in scrape(port):
        if name.startswith(OWNED + "{"):
            labels = dict(re.findall(r'(\w+)="([^"]*)"', name))
            owned.add(f"{labels['topic']}/{labels['partition']}")
    return owned


def start_ingester(settings: Settings, n: int, port: int, folder: Path) -> Ingester:
    """Returns `eventlake ingest` number `n`: its own client id, metrics on `port`."""
    own = dataclasses.replace(settings, kafka_config={**FAST_GROUP, "client.id": f"ingester-{n}"})
    args = ["--batch-max-seconds", "0.3", "--metrics-port", str(port)]
    return Ingester(own, folder / f"ingester-{n}.log", *args)


def run_while_producing(
    ingesters: list[Ingester],
    ports: list[int],
    topic: str,
    stop_producing: threading.Event,
    producer: threading.Thread,
) -> None:
    """Waits until each ingester owns a share of the partitions and commits it; stops producing."""
    try:
        for ingester in ingesters:
            ingester.wait_for("batch committed", timeout=90)
        shares: list[set[str]] = []
        for _ in sample_until(60.0, every_s=0.3):  # until the group settles into three shares
            assert all(i.alive() for i in ingesters)
            shares = [owned_partitions(port) for port in ports]
            if all(shares) and sum(map(len, shares)) == 6 == len(set().union(*shares)):
                break
        assert sorted(set().union(*shares)) == [f"{topic}/{p}" for p in range(6)], shares
        assert all(shares) and sum(map(len, shares)) == 6, f"not shared three ways: {shares}"
        for ingester in ingesters:  # each keeps committing its share
            ingester.wait_for("batch committed", count=ingester.commits() + 2, timeout=60)
    finally:
        stop_producing.set()
        producer.join(120)


def test_three_ingester_processes_share_six_partitions_and_write_every_offset_once(
    settings: Settings, broker_bootstrap: str, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:8]
    s = dataclasses.replace(
        settings,
        kafka_bootstrap=broker_bootstrap,
        topics=(f"group_events_{tag}",),
        group_id=f"eventlake-group-{tag}",
        kafka_config=FAST_GROUP,
        max_message_bytes=MAX_MESSAGE_BYTES,
    )
    broker.ensure_topics(s, partitions=6)
    topic = s.topics[0]
    stop_producing = threading.Event()
    produced: list[SimulationStats] = []
    traffic = SimulationOptions(count=0, rate=2_000, days=3, users=300, seed=17, duplicates=0.01,
                                malformed=0.01)  # fmt: skip
    producer = threading.Thread(
        target=lambda: produced.append(simulate(s, traffic, progress=False,
                                                stop_event=stop_producing)),
    )  # fmt: skip
    producer.start()
    ports = [free_port() for _ in range(3)]
    ingesters = [start_ingester(s, i, port, tmp_path) for i, port in enumerate(ports)]
    try:
        run_while_producing(ingesters, ports, topic, stop_producing, producer)
        for _ in sample_until(90.0, every_s=0.3):
            if caught_up(s):
                break
            assert all(i.alive() for i in ingesters)
        assert caught_up(s), "the group did not catch up in time"
        for ingester in ingesters:
            assert ingester.stop() == 0, ingester.text()[-2000:]
    finally:
        for ingester in ingesters:  # after a failure: no process outlives the test
            ingester.kill()

    ends = true_ends(s)
    assert produced and sum(ends.values()) == produced[0].produced > 0
    assert_exactly_once(s, ends)
    batches = (
        lake.scan(s, BRONZE_INGEST_BATCHES)
        .group_by("consumer_id")
        .agg(pl.len().alias("batches"), pl.col("events").sum())
        .collect()
    )
    pids = {row["consumer_id"].rsplit(":", 1)[1]: row for row in batches.iter_rows(named=True)}
    assert set(pids) == {str(i.pid) for i in ingesters}  # every process committed batches
    assert all(row["events"] > 0 for row in pids.values()), batches
