"""Which topics an ingester reads: a list or a pattern; a recreated topic refused, then accepted
after `eventlake reset-offsets`; user mistakes answered in one line."""

from __future__ import annotations

import dataclasses
import socket
import subprocess
import uuid
from pathlib import Path

import polars as pl
from ingest_checks import assert_exactly_once, free_port, produce, recreate_topic, true_ends
from processes import EVENTLAKE, env_for

from eventlake import lake
from eventlake.catalog import BRONZE_EVENTS
from eventlake.settings import Settings
from ingest.consume.ingester import ingest
from ingest.tools import broker

LOGIN = (
    b'{"event_id":"e%d","event_type":"login","aggregate_id":"u","timestamp":1750000000000,'
    b'"payload":{"user_id":"u"}}'
)


def run(settings: Settings, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EVENTLAKE, *args],
        env=env_for(settings),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_pattern_ingests_every_matching_topic_and_no_other(kafka_settings: Settings) -> None:
    tag = uuid.uuid4().hex[:6]
    matching, other = [f"clicks_{tag}_eu", f"clicks_{tag}_us"], f"orders_{tag}"
    broker.ensure_topics(kafka_settings, [*matching, other], partitions=2)
    for i, topic in enumerate([*matching, other]):
        produce(kafka_settings, [(topic, b"u", LOGIN % n) for n in range(10 + i)])
    settings = dataclasses.replace(kafka_settings, topics=(), topic_pattern=f"clicks_{tag}_.*")

    stats = ingest(settings, until_idle=True)
    assert stats.events == 21
    found = lake.scan(settings, BRONZE_EVENTS).group_by("kafka_topic").len().collect()
    assert dict(found.iter_rows()) == {matching[0]: 10, matching[1]: 11}
    assert_exactly_once(
        dataclasses.replace(settings, topics=tuple(matching)),
        true_ends(dataclasses.replace(settings, topics=tuple(matching))),
    )


def test_a_recreated_topic_is_refused_until_reset_offsets(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    """The new incarnation holds MORE messages than bronze recorded, so offsets alone would not
    tell: the topic id does."""
    topic = kafka_settings.topics[0]
    produce(kafka_settings, [(topic, b"u", LOGIN % i) for i in range(5)], partition=0)
    assert run(kafka_settings, "ingest", "--until-idle", cwd=tmp_path).returncode == 0

    recreate_topic(kafka_settings, topic)
    produce(kafka_settings, [(topic, b"u", LOGIN % (100 + i)) for i in range(20)], partition=0)

    refused = run(kafka_settings, "ingest", "--until-idle", cwd=tmp_path)
    assert refused.returncode == 1
    last = refused.stderr.strip().splitlines()[-1]
    assert last.startswith(f"eventlake ingest: {topic}: bronze was written from another")
    assert "eventlake reset-offsets --topic" in last and "Traceback" not in refused.stderr

    dry = run(kafka_settings, "reset-offsets", "--topic", topic, cwd=tmp_path)
    assert dry.returncode == 0 and f"{topic}/0: 4 / -1, 20 -> -1" in dry.stdout
    assert "nothing written" in dry.stderr
    assert run(kafka_settings, "ingest", "--until-idle", cwd=tmp_path).returncode == 1

    reset = run(kafka_settings, "reset-offsets", "--topic", topic, "--yes", cwd=tmp_path)
    assert reset.returncode == 0, reset.stderr
    events = lake.open_table(kafka_settings, BRONZE_EVENTS)
    assert events is not None and events.history(1)[0][lake.EVENT_DATES_KEY] == ""  # no day
    again = run(kafka_settings, "ingest", "--until-idle", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    rows = lake.scan(kafka_settings, BRONZE_EVENTS).sort("ingested_at", "kafka_offset").collect()
    assert rows["event_id"].to_list() == [f"e{i}" for i in (*range(5), *range(100, 120))]
    new = rows.filter(pl.col("event_id").str.len_chars() == 4)  # e100..e119
    assert new["kafka_offset"].to_list() == list(range(20))


def test_user_mistakes_are_one_line(kafka_settings: Settings, tmp_path: Path) -> None:
    down = dataclasses.replace(kafka_settings, kafka_bootstrap=f"127.0.0.1:{free_port()}")
    unreachable = run(down, "ingest", cwd=tmp_path)
    assert unreachable.returncode == 1 and unreachable.stderr.count("\n") == 1
    assert unreachable.stderr.startswith("eventlake ingest: cannot reach Kafka at")

    port = free_port()
    with socket.socket() as busy:  # the metrics port is taken
        busy.bind(("0.0.0.0", port))
        busy.listen()
        taken = run(
            kafka_settings, "ingest", "--until-idle", "--metrics-port", str(port), cwd=tmp_path
        )
    assert taken.returncode == 1 and "Traceback" not in taken.stderr
    assert (
        taken.stderr.strip()
        .splitlines()[-1]
        .startswith(f"eventlake ingest: cannot serve metrics on 0.0.0.0:{port}")
    )
    for args in (
        ["--topic-pattern", "(("],
        ["--batch-max-mib", "0"],
        ["--metrics-port", "70000"],
        ["--pipeline-depth", "0"],
    ):
        bad = run(kafka_settings, "ingest", *args, cwd=tmp_path)
        assert bad.returncode == 2 and bad.stderr.count("\n") == 1, args
    missing = run(kafka_settings, "reset-offsets", "--topic", "no_such_topic", cwd=tmp_path)
    assert missing.returncode == 1 and "no_such_topic do not exist" in missing.stderr
