"""Ingest benchmark (docs/service-levels.md): throughput beside raw consumption, latency, peak memory.

    .venv/bin/python -m bench.ingest            # or: make bench-ingest

On its own local broker (Tansu, a free port) and a lake in a temporary folder:
1. produces N simulated events (default 2M) to one topic of 6 partitions;
2. raw consumption: a consumer with the ingester's settings reads the same messages, touching
   each value and nothing more: the reference the ingester is measured against;
3. throughput and peak RSS: `eventlake ingest --until-idle` drains them in its own process,
   timed from its first message read to its last commit (steady), and as a whole process,
   from its start (imports, group join) to its exit;
4. latency: a steady stream (default 5,000 events/s for 30 s) into a running ingester; each
   event's latency is its batch's commit time minus its Kafka (produce) timestamp;
5. with `--tracing`, the cost of tracing: step 3 again on the same messages (a fresh lake and
   consumer group) with OpenTelemetry on (OTEL_EXPORTER_OTLP_ENDPOINT pointing at a tiny
   OTLP/HTTP receiver the benchmark runs itself, bench/trace_sink.py), its steady rate and
   peak RSS beside those of step 3, and the spans and bytes the receiver got.
Prints the figures and writes them to bench/results/ingest.json, with "met" only when every
ingest promise of docs/service-levels.md is.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import itertools
import json
import logging
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import psutil
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

from bench.trace_sink import TraceSink
from eventlake import lake
from eventlake.catalog import BRONZE_EVENTS, BRONZE_INGEST_BATCHES
from eventlake.settings import Settings
from ingest.consume.ingester import consumer_config
from ingest.kafka import cluster
from ingest.simulator import SimulationOptions, messages
from ingest.tools import broker

RESULTS = Path(__file__).resolve().parent / "results" / "ingest.json"
TOPIC = "bench_events"
# docs/service-levels.md: throughput, efficiency (beside the raw consume rate), memory, latency
TARGETS = {"events_per_second": 150_000, "ratio": 0.5, "peak_rss_mb": 512, "p99_seconds": 2.0}


def pool(n: int, *, seed: int = 1) -> list[tuple[bytes, bytes]]:
    """Returns n simulated (key, value) events: the registered types in realistic proportions."""
    options = SimulationOptions(days=7, users=20_000, seed=seed)
    stream = messages(options, seed=seed, topics=(TOPIC,), max_message_bytes=1 << 20)
    return [(m.key or b"", m.value) for m in itertools.islice(stream, n)]


def produce(
    settings: Settings, events: list[tuple[bytes, bytes]], count: int, rate: float = 0
) -> float:
    """Produces `count` events (cycling through `events`), at `rate`/s if given; returns seconds."""
    producer = Producer(
        cluster.client_config(
            settings,
            {
                "linger.ms": 5 if rate else 20,
                "batch.num.messages": 10_000,
                "enable.idempotence": True,
                "queue.buffering.max.messages": 500_000,
            },
        )
    )
    started = time.monotonic()
    for i in range(count):
        key, value = events[i % len(events)]
        if rate and (ahead := started + i / rate - time.monotonic()) > 0:
            time.sleep(ahead)
        while True:
            try:
                producer.produce(TOPIC, value, key)
                break
            except BufferError:
                producer.poll(0.05)
        if i % 10_000 == 0:
            producer.poll(0)
    assert producer.flush(120) == 0, "messages left undelivered"
    return time.monotonic() - started


def raw_consume(settings: Settings, count: int) -> float:
    """Returns messages/s of a bare consumer (the ingester's config) reading `count` messages."""
    config = {**consumer_config(settings), "group.id": f"bench-raw-{time.time_ns()}"}
    consumer = Consumer(config)
    consumer.subscribe([TOPIC])
    seen = size = 0
    started = None
    try:
        while seen < count:
            batch = consumer.consume(10_000, 1.0)
            for m in batch:
                if m.error() is None:
                    size += len(m.value() or b"")
                    seen += 1
            if batch and started is None:
                started = time.monotonic()
        return count / (time.monotonic() - (started or time.monotonic()))
    finally:
        consumer.close()


def run_ingester(
    settings: Settings, *args: str, otel: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Starts `eventlake ingest` for `settings` in its own process (its log beside the lake).

    Tracing is off unless `otel` gives OTEL_* variables (the caller's own are left out).
    """
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("OTEL_")},
        **(otel or {}),
        "EVENTLAKE_LAKE_ROOT": settings.lake_root,
        "EVENTLAKE_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "EVENTLAKE_TOPICS": TOPIC,
        "EVENTLAKE_GROUP_ID": settings.group_id,
        "EVENTLAKE_KAFKA_CONFIG": json.dumps(dict(settings.kafka_config)),
    }
    log = open(Path(settings.lake_root).parent / f"ingest-{time.time_ns()}.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "ingest", *args],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return process


def throughput(
    settings: Settings, count: int, otel: dict[str, str] | None = None
) -> dict[str, Any]:
    """Drains `count` events with `eventlake ingest --until-idle` (traced when `otel` gives
    OTEL_* variables); returns rates and peak RSS."""
    started, started_wall = time.monotonic(), time.time()
    process = run_ingester(settings, "--until-idle", otel=otel)
    peak = 0
    while process.poll() is None:
        peak = max(peak, _high_water_mark(process.pid))
        time.sleep(0.02)
    wall = time.monotonic() - started
    assert process.returncode == 0, "the ingester failed (see its log next to the lake)"
    batches = lake.scan(settings, BRONZE_INGEST_BATCHES).collect()
    rows = lake.scan(settings, BRONZE_EVENTS).select(pl.len()).collect().item()
    assert rows == count, f"bronze holds {rows} events, {count} were produced"
    first, last = batches["started_at"].min(), batches["committed_at"].max()
    busy = (last - first).total_seconds()  # type: ignore[operator]
    to_first = first.timestamp() - started_wall  # type: ignore[union-attr]
    return {
        "events": count,
        "batches": batches.height,
        "wall_seconds": round(wall, 2),
        "events_per_second_wall": round(count / wall),
        "start_seconds": round(to_first, 2),  # process start to its first message read
        "sustained_seconds": round(busy, 2),
        "events_per_second": round(count / busy),
        "peak_rss_mb": round(peak / 2**20, 1),
    }


def latency(
    settings: Settings, events: list[tuple[bytes, bytes]], rate: float, seconds: float
) -> dict[str, Any]:
    """p50/p99/max from produce to committed in bronze at a steady `rate` for `seconds`."""
    process = run_ingester(settings)
    try:
        time.sleep(4.0)  # started and joined
        count = int(rate * seconds)
        produce(settings, events, count, rate=rate)
        deadline = time.monotonic() + 60
        while _rows(settings) < count and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)
    batches = (
        lake.scan(settings, BRONZE_INGEST_BATCHES)
        .select(
            "committed_at",
            pl.col("offset_ranges").str.json_decode(
                pl.List(
                    pl.Struct(
                        {
                            "topic": pl.String,
                            "partition": pl.Int32,
                            "first": pl.Int64,
                            "last": pl.Int64,
                        }
                    )
                )
            ),
        )
        .explode("offset_ranges")
        .unnest("offset_ranges")
        .collect()
    )
    rows = (
        lake.scan(settings, BRONZE_EVENTS)
        .select("kafka_partition", "kafka_offset", "kafka_timestamp")
        .collect()
    )
    joined = rows.join(batches, left_on="kafka_partition", right_on="partition").filter(
        pl.col("kafka_offset").is_between("first", "last")
    )
    seconds_each = (
        joined["committed_at"] - joined["kafka_timestamp"]
    ).dt.total_microseconds() / 1e6
    return {
        "rate": rate,
        "seconds": seconds,
        "events": joined.height,
        "p50_seconds": round(float(seconds_each.quantile(0.5) or 0), 3),
        "p99_seconds": round(float(seconds_each.quantile(0.99) or 0), 3),
        "max_seconds": round(float(seconds_each.max() or 0), 3),  # type: ignore[arg-type]
    }


def traced_throughput(settings: Settings, work: Path, count: int) -> dict[str, Any]:
    """Drains the same `count` messages again, into a fresh lake with a fresh consumer group,
    with tracing on: spans go over OTLP/HTTP to a `TraceSink` in this process. Returns the
    drain's figures (`on`) and what the sink received (`sink`)."""
    again = dataclasses.replace(
        settings,
        lake_root=str(work / "throughput-traced"),
        group_id=f"bench-traced-{time.time_ns()}",
    )
    with TraceSink() as sink:
        otel = {"OTEL_EXPORTER_OTLP_ENDPOINT": sink.endpoint, "OTEL_SERVICE_NAME": "bench-ingest"}
        on = throughput(again, count, otel=otel)
    got = sink.received
    assert got.spans > 0, "the traced ingester sent no span"
    return {
        "on": {k: on[k] for k in ("events_per_second", "peak_rss_mb")},
        "sink": {"requests": got.requests, "spans": got.spans, "bytes": got.bytes},
    }


class Others:
    """The share of the CPUs that processes other than the benchmark's used, per phase.

    The machine may be shared: a phase whose share is high measured a contended machine.
    Ours: this process, the children it reaped (the ingesters) and the broker.
    """

    def __init__(self, broker_pid: int) -> None:
        self.broker = psutil.Process(broker_pid)
        self.shares: dict[str, float] = {}

    def _ours(self) -> float:
        me = psutil.Process().cpu_times()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        live = sum(sum(c.cpu_times()[:2]) for c in psutil.Process().children(recursive=True))
        return me.user + me.system + children.ru_utime + children.ru_stime + live

    @staticmethod
    def _busy() -> float:
        t = psutil.cpu_times()
        return float(sum(t) - t.idle - getattr(t, "iowait", 0.0))

    @contextlib.contextmanager
    def during(self, phase: str) -> Iterator[None]:
        busy, ours, started = self._busy(), self._ours(), time.monotonic()
        yield
        elapsed = (time.monotonic() - started) * (os.cpu_count() or 1)
        other = (self._busy() - busy) - (self._ours() - ours)
        self.shares[phase] = round(max(0.0, other) / elapsed, 3)


def _high_water_mark(pid: int) -> int:
    """Returns the process's peak RSS so far in bytes (VmHWM; the current RSS off Linux)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(psutil.Process(pid).memory_info().rss)
    except psutil.Error:
        return 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rows(settings: Settings) -> int:
    return int(lake.scan(settings, BRONZE_EVENTS).select(pl.len()).collect().item())


def fresh(base: Settings, work: Path, name: str) -> Settings:
    settings = Settings.from_env(
        env={},
        kafka_bootstrap=base.kafka_bootstrap,
        topics=(TOPIC,),
        lake_root=str(work / name),
        group_id=f"bench-{name}-{time.time_ns()}",
        kafka_config=base.kafka_config,
    )
    admin = AdminClient(cluster.client_config(settings))
    if TOPIC in cluster.list_topics(settings):
        admin.delete_topics([TOPIC])[TOPIC].result(timeout=10)
        while TOPIC in cluster.list_topics(settings):
            time.sleep(0.05)
    broker.ensure_topics(settings, [TOPIC], partitions=6)
    return settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--latency-rate", type=float, default=5_000.0)
    parser.add_argument("--latency-seconds", type=float, default=30.0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--tracing",
        action="store_true",
        help="also drain the same messages with tracing on (OTLP/HTTP to a local receiver) "
        "and report its rate and peak RSS beside the untraced drain",
    )
    args = parser.parse_args(argv)
    logging.getLogger("ingest.librdkafka").setLevel(logging.ERROR)  # client config warnings
    work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    port = _free_port()
    base = Settings.from_env(
        env={},
        kafka_bootstrap=f"127.0.0.1:{port}",
        kafka_config={"session.timeout.ms": 2000, "heartbeat.interval.ms": 400},
    )
    broker_pid = broker.start(base, state_dir=work / "broker", topics=())
    others = Others(broker_pid)
    try:
        events = pool(200_000)
        mean_bytes = sum(len(v) for _, v in events) / len(events)
        settings = fresh(base, work, "throughput")
        produced_s = produce(settings, events, args.events)
        with others.during("raw_consume"):
            raw = raw_consume(settings, args.events)
        with others.during("ingest"):
            drained = throughput(settings, args.events)
        traced = None
        if args.tracing:
            with others.during("ingest_traced"):
                traced = traced_throughput(settings, work, args.events)
        with others.during("latency"):
            steady = latency(
                fresh(base, work, "latency"), events, args.latency_rate, args.latency_seconds
            )
    finally:
        broker.stop(state_dir=work / "broker", timeout=2.0)
        shutil.rmtree(work, ignore_errors=True)
    result = {
        "command": ".venv/bin/python -m bench.ingest" + (" " + " ".join(argv) if argv else ""),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "cpu_share_of_other_processes": others.shares,
        },
        "messages": {
            "count": args.events,
            "partitions": 6,
            "mean_bytes": round(mean_bytes, 1),
            "produce_messages_per_second": round(args.events / produced_s),
        },
        "raw_consume_messages_per_second": round(raw),
        "ingest": drained,
        "ingest_to_raw_ratio": round(drained["events_per_second"] / raw, 3),
        "latency": steady,
        "targets": TARGETS,
    }
    if traced is not None:
        result["tracing"] = {
            "off": {k: drained[k] for k in ("events_per_second", "peak_rss_mb")},
            **traced,
            "rate_on_to_off": round(
                traced["on"]["events_per_second"] / drained["events_per_second"], 3
            ),
        }
    result["met"] = met(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(report(result))
    return 0


def met(r: dict[str, Any]) -> dict[str, bool]:
    """Returns each ingest promise and whether it was met; `all` is the whole promise."""
    i = r["ingest"]
    parts = {
        "throughput": i["events_per_second"] >= TARGETS["events_per_second"],
        "efficiency": r["ingest_to_raw_ratio"] >= TARGETS["ratio"],
        "memory": i["peak_rss_mb"] <= TARGETS["peak_rss_mb"],
        "latency": r["latency"]["p99_seconds"] <= TARGETS["p99_seconds"],
    }
    return {**parts, "all": all(parts.values())}


def report(r: dict[str, Any]) -> str:
    i, lat, m, ok = r["ingest"], r["latency"], r["messages"], r["met"]
    missed = [name for name, good in ok.items() if name != "all" and not good]
    return "\n".join(
        [
            f"ingest benchmark: {m['count']:,} events of {m['mean_bytes']:.0f} bytes, 6 partitions",
            f"  raw consume (same messages, same run)  {r['raw_consume_messages_per_second']:>10,} msg/s",
            f"  ingest, committed to bronze (steady)   {i['events_per_second']:>10,} events/s  "
            f"(target 150,000; {i['sustained_seconds']} s)",
            f"  ratio ingest / raw                     {r['ingest_to_raw_ratio']:>10.2f}  "
            "(target 0.5)",
            f"  ingest incl. process start and join    {i['events_per_second_wall']:>10,} events/s  "
            f"({i['wall_seconds']} s, {i['start_seconds']} s to the first message, "
            f"{i['batches']} batches)",
            f"  peak RSS while draining                {i['peak_rss_mb']:>10,.0f} MB  (target 512)",
            f"  latency at {lat['rate']:,.0f} events/s: p50 {lat['p50_seconds']} s, p99 "
            f"{lat['p99_seconds']} s, max {lat['max_seconds']} s  (target p99 2 s)",
            "  share of the CPUs used by other processes: "
            + ", ".join(
                f"{k} {v:.0%}" for k, v in r["machine"]["cpu_share_of_other_processes"].items()
            ),
            "  ingest promise: " + ("met" if ok["all"] else "NOT met (" + ", ".join(missed) + ")"),
            *tracing_lines(r.get("tracing")),
        ]
    )


def tracing_lines(t: dict[str, Any] | None) -> list[str]:
    """Returns the report's lines on the cost of tracing (none without `--tracing`)."""
    if t is None:
        return []
    off, on, sink = t["off"], t["on"], t["sink"]
    return [
        "  tracing (same messages, same run)       off           on",
        f"    steady rate, events/s          {off['events_per_second']:>10,}   {on['events_per_second']:>10,}"
        f"  (on / off {t['rate_on_to_off']:.2f})",
        f"    peak RSS, MB                   {off['peak_rss_mb']:>10,.0f}   {on['peak_rss_mb']:>10,.0f}",
        f"    spans received {sink['spans']:,} in {sink['requests']:,} exports, "
        f"{sink['bytes'] / 2**10:,.0f} KiB",
    ]


if __name__ == "__main__":
    sys.exit(main())
