"""What an ingester shows of itself: the Prometheus endpoint, JSON logs, Kafka's committed offsets
(for standard lag tools) and the bronze/ingest_batches audit table."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import threading
from pathlib import Path

import polars as pl
from ingest_checks import assert_exactly_once, free_port, produce, true_ends, wait_for_commit
from processes import EVENTLAKE, env_for, group_offsets, scrape, total

from eventlake import lake
from eventlake.catalog import BRONZE_DEAD_LETTERS, BRONZE_EVENTS, BRONZE_INGEST_BATCHES
from eventlake.settings import Settings
from ingest.consume.ingester import ingest
from ingest.observe.stats import IngestStats
from ingest.simulator import SimulationOptions, simulate
from ingest.write import offsets

SOME_OF_EVERYTHING = SimulationOptions(count=3000, days=2, users=200, seed=9, malformed=0.05)


def test_the_metrics_endpoint_reports_what_was_committed(kafka_settings: Settings) -> None:
    port = free_port()
    settings = dataclasses.replace(kafka_settings, metrics_port=port)
    sim = simulate(settings, SOME_OF_EVERYTHING)
    stop = threading.Event()
    result: list[IngestStats] = []
    runner = threading.Thread(target=lambda: result.append(ingest(settings, stop_event=stop)))
    runner.start()
    try:
        wait_for_commit(settings, runner.is_alive)
        ends = true_ends(settings)
        deadline_ok = False
        for _ in range(100):  # until everything is committed and the gauges caught up
            samples = scrape(port)
            if total(samples, "eventlake_ingest_consumer_lag") == 0 and sum(
                v for k, v in samples.items() if k.startswith("eventlake_ingest_committed_offset")
            ) == sum(end - 1 for end in ends.values() if end):
                deadline_ok = True
                break
            stop.wait(0.2)
        assert deadline_ok, "lag never reached 0"
    finally:
        stop.set()
        runner.join(30)
    assert result and result[0].events + result[0].dead_letters == sim.produced
    dead = lake.scan(settings, BRONZE_DEAD_LETTERS).collect()
    events = lake.scan(settings, BRONZE_EVENTS).collect()
    assert total(samples, "eventlake_ingest_events_total") == events.height
    for code, n in dead.group_by("error_code").len().iter_rows():
        assert (
            total(
                {k: v for k, v in samples.items() if f'code="{code}"' in k},
                "eventlake_ingest_dead_letters_total",
            )
            == n
        )
    assert samples["eventlake_ingest_batches_total"] == result[0].batches
    assert samples["eventlake_ingest_batch_latency_seconds_count"] == result[0].batches
    assert samples["eventlake_ingest_commit_duration_seconds_count"] == result[0].batches
    assert samples["eventlake_ingest_produce_to_commit_seconds_count"] == result[0].batches
    version = lake.open_table(settings, BRONZE_EVENTS).version()  # type: ignore[union-attr]
    assert samples['eventlake_ingest_delta_version{table="bronze/events"}'] == version
    assert samples["eventlake_ingest_assigned_partitions"] == 12
    assert samples["eventlake_ingest_paused"] == 0
    assert samples["eventlake_ingest_slow_path_messages_total"] == sum(sim.malformed.values())
    # Kafka's committed offsets follow bronze: standard lag tools see what bronze holds
    in_bronze = offsets.txn_versions(settings, BRONZE_EVENTS, ends)
    assert group_offsets(settings) == {k: v + 1 for k, v in in_bronze.items() if v >= 0}


def test_json_logs_and_the_audit_table(kafka_settings: Settings, tmp_path: Path) -> None:
    topic = kafka_settings.topics[0]
    login = (
        b'{"event_id":"e%d","event_type":"login","aggregate_id":"u","timestamp":'
        b'1750000000000,"payload":{"user_id":"u"}}'
    )
    produce(
        kafka_settings,
        [(topic, b"u", login % i) for i in range(50)] + [(topic, b"u", b"?")],
        partition=2,
    )
    done = subprocess.run(
        [EVENTLAKE, "ingest", "--until-idle", "--log-format", "json", "--batch-max-events", "20"],
        env=env_for(kafka_settings),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]
    batches = [line["batch"] for line in lines if "batch" in line]
    assert [b["messages"] for b in batches] == [20, 20, 11]
    assert sum(b["events"] for b in batches) == 50 and sum(b["dead_letters"] for b in batches) == 1
    assert batches[-1]["partitions"] == {f"{topic}/2": 50} and batches[-1]["lag"] == 0
    assert all({"ts", "level", "logger", "message"} <= line.keys() for line in lines)

    audit = lake.scan(kafka_settings, BRONZE_INGEST_BATCHES).sort("committed_at").collect()
    assert audit["events"].to_list() == [b["events"] for b in batches]
    assert audit["events_version"].to_list() == [b["events_version"] for b in batches]
    ranges = [json.loads(r) for r in audit["offset_ranges"]]
    assert ranges[0] == [{"topic": topic, "partition": 2, "first": 0, "last": 19}]
    assert (audit["committed_at"] >= audit["started_at"]).all()
    assert audit.select(pl.col("decode_ms", "write_ms").min()).row(0) >= (0.0, 0.0)
    assert_exactly_once(kafka_settings, true_ends(kafka_settings))
