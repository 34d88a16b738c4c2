"""Dead-letter replay: after a registry change, the now-valid dead letters reach bronze/events
exactly once, with the row the ingester would have written; `list` and `show` tell their state.

The registry is code: a test changes it the way a deploy would, by registering a new version
in `eventlake.registry.REGISTRY` (the mapping `envelope.parse` and the fast path read), after
the ingester dead-lettered messages of that version. A raised EVENTLAKE_MAX_MESSAGE_BYTES is the
other honest change: it lets the too_large dead letters through, and reaches CLI subprocesses.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import msgspec
import polars as pl
import pytest
from ingest_checks import produce

from cli.dead_letters import render_bytes
from cli.main import main
from eventlake import lake
from eventlake.catalog import BRONZE_DEAD_LETTERS, BRONZE_EVENTS
from eventlake.lake import txn_of
from eventlake.registry import REGISTRY, USER_EVENTS, EventType, EventVersion, FieldRule
from eventlake.settings import Settings
from ingest.consume.ingester import ingest
from ingest.tools import dead_letter_replay
from orchestration.bronze_log import BronzeCursor
from orchestration.partitions import daily_partitions
from orchestration.sensors import evaluate_bronze_commits

EVENT_MS = int((datetime.now(UTC) - timedelta(days=1)).timestamp() * 1000)
IDENTITY = dead_letter_replay.IDENTITY

# The registry after the change: `login` gains a version 2 with a `device`.
LOGIN_V2 = EventType(
    "login",
    USER_EVENTS,
    {
        1: REGISTRY["login"].versions[1],
        2: EventVersion(2, (FieldRule("user_id", "str"), FieldRule("device", "str"))),
    },
    {1: lambda payload: {**payload, "device": None}},
)


def login(event_id: str, version: int, payload: dict[str, object]) -> bytes:
    return msgspec.json.encode(
        {
            "event_id": event_id,
            "event_type": "login",
            "aggregate_id": "u1",
            "timestamp": EVENT_MS,
            "schema_version": version,
            "payload": payload,
            "metadata": {"session_id": "s1"},
        }
    )


def cli(capsys: pytest.CaptureFixture[str], settings: Settings, *args: str) -> tuple[int, str]:
    code = main(["dead-letters", *args, "--lake-root", settings.lake_root])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def events(settings: Settings) -> pl.DataFrame:
    return lake.scan(settings, BRONZE_EVENTS).sort("kafka_offset").collect()


def version(settings: Settings) -> int:
    table = lake.open_table(settings, BRONZE_EVENTS)
    assert table is not None
    return table.version()


def test_replay_after_a_registry_change_writes_the_now_valid_ones_once(
    kafka_settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, topic = kafka_settings, kafka_settings.topics[0]
    now_valid = login("e2", 2, {"user_id": "u1", "device": "ios"})
    sent = [
        login("e1", 1, {"user_id": "u1"}),  # 0: valid all along
        now_valid,  # 1: unknown_schema_version, valid once v2 exists
        login("e3", 2, {"user_id": "u1"}),  # 2: unknown version, then payload_invalid (device)
        login("e4", 3, {"user_id": "u1"}),  # 3: unknown version before and after
        b"{not json",  # 4: not_json
    ]
    produce(settings, [(topic, b"u1", value) for value in sent], partition=0)
    ingest(settings, until_idle=True)
    dead = lake.scan(settings, BRONZE_DEAD_LETTERS).sort("kafka_offset").collect()
    assert dead["kafka_offset"].to_list() == [1, 2, 3, 4]
    assert events(settings)["kafka_offset"].to_list() == [0]

    code, out = cli(capsys, settings, "replay")  # nothing valid yet under the old registry
    assert code == 0 and out.splitlines()[0].startswith("replayed 0 of 4 selected")
    before = version(settings)

    monkeypatch.setitem(REGISTRY, "login", LOGIN_V2)  # the registry change ("deploy")
    code, out = cli(capsys, settings, "replay", "--dry-run")
    assert code == 0 and out.splitlines()[0].startswith("dry run: would replay 1 of 4 selected")
    assert version(settings) == before

    code, out = cli(capsys, settings, "replay", "--topic", topic)
    assert code == 0, out
    assert out.splitlines() == [
        f"replayed 1 of 4 selected dead letters into bronze/events (version {before + 1})",
        "still invalid: 3 (not_json 1, payload_invalid 1, unknown_schema_version 1)",
        "already replayed: 0",
    ]
    table = lake.open_table(settings, BRONZE_EVENTS)
    assert table is not None and table.version() == before + 1
    commit = table.history(1)[0]
    assert commit[lake.CAUSE_KEY] == "replay"
    assert (
        commit[lake.EVENT_DATES_KEY]
        == datetime.fromtimestamp(EVENT_MS / 1000, UTC).date().isoformat()
    )
    assert txn_of(table, dead_letter_replay.APP_ID) == 1
    replayed = events(settings).filter(pl.col("kafka_offset") == 1)
    dead_row = dead.filter(pl.col("kafka_offset") == 1)
    assert replayed.select(IDENTITY).rows() == dead_row.select(IDENTITY).rows()
    assert replayed["ingested_at"][0] > dead_row["ingested_at"][0]

    code, out = cli(capsys, settings, "list")
    assert code == 0 and out.startswith("dead letters: 4 selected (3 pending, 1 replayed)")
    table_rows = [[cell.strip(" │") for cell in line.split("┆")] for line in out.splitlines()]
    statuses = {cells[2]: cells[6] for cells in table_rows if len(cells) == 7}
    assert statuses.pop("offset") == "status"
    assert statuses == {"1": "replayed", "2": "pending", "3": "pending", "4": "pending"}
    code, out = cli(capsys, settings, "show", f"{topic}/0/1")
    assert code == 0 and "(bronze/events holds this message)" in out
    assert "parse now        accepted: login v2" in out and '"device":"ios"' in out
    code, out = cli(capsys, settings, "show", "--topic", topic, "--partition", "0", "--offset", "2")
    assert "parse now        rejected: payload_invalid: login v2: payload.device is required" in out

    # A second replay is a no-op: same version, same rows.
    rows_before = events(settings)
    code, out = cli(capsys, settings, "replay")
    assert code == 0
    assert out.splitlines()[0] == "replayed 0 of 4 selected dead letters; nothing written"
    assert out.splitlines()[2] == "already replayed: 1"
    assert version(settings) == before + 1
    assert events(settings).equals(rows_before)

    # The sensor re-materializes the day, saying why; an ingest commit says nothing of a cause.
    cursor = BronzeCursor(before).to_json()
    sensed = evaluate_bronze_commits(
        settings, daily_partitions(settings), cursor, datetime.now(UTC)
    )
    assert [r.tags.get("eventlake/cause") for r in sensed.run_requests] == ["replay"]

    # The replayed row is the one the ingester writes for that message under the new registry.
    produce(settings, [(topic, b"u1", now_valid)], partition=0)
    ingest(settings, until_idle=True)
    copy = events(settings).filter(pl.col("kafka_offset") == 5)
    volatile = ["kafka_offset", "kafka_timestamp", "ingested_at"]
    assert copy.height == 1
    assert replayed.drop(volatile).rows(named=True) == copy.drop(volatile).rows(named=True)
    assert replayed["schema_version"][0] == 2 and replayed["registered"][0]
    cursor = BronzeCursor(before + 1).to_json()
    sensed = evaluate_bronze_commits(
        settings, daily_partitions(settings), cursor, datetime.now(UTC)
    )
    assert [r.tags.get("eventlake/cause") for r in sensed.run_requests] == [None]


def too_large_dead_letters(settings: Settings, n: int) -> pl.DataFrame:
    """Writes `n` dead letters that a 100-byte limit rejected (valid logins of ~180 bytes)."""
    at = datetime.now(UTC).replace(microsecond=0)
    raws = [login(f"big{i}", 1, {"user_id": f"u{i}", "pad": "x" * 40}) for i in range(n)]
    rows = pl.DataFrame(
        {
            "kafka_topic": "user_events",
            "kafka_partition": [i % 3 for i in range(n)],
            "kafka_offset": list(range(n)),
            "kafka_timestamp": at,
            "key": [b"u%d" % i for i in range(n)],
            "raw": raws,
            "error_code": "too_large",
            "error_detail": [f"{len(r)} bytes is over the limit of 100" for r in raws],
            "ingested_at": at,
        }
    )
    lake.append(settings, BRONZE_DEAD_LETTERS, rows)
    lake.ensure_table(settings, BRONZE_EVENTS)  # the ingester makes both tables
    return rows


def test_two_replays_of_one_version_write_each_message_once(settings: Settings) -> None:
    too_large_dead_letters(settings, 20)
    selection = dead_letter_replay.Selection(codes=("too_large",))
    first = dead_letter_replay.plan(settings, selection)
    second = dead_letter_replay.plan(
        settings, selection
    )  # both read the same bronze/events version
    assert first.version == second.version and first.events.height == 20

    done = dead_letter_replay.commit(settings, first)
    late = dead_letter_replay.commit(
        settings, second
    )  # lost to `first` at commit, then checked again
    assert (done.replayed, done.already, done.attempts) == (20, 0, 1)
    assert (late.replayed, late.already, late.version, late.attempts) == (0, 20, None, 2)
    rows = events(settings)
    assert rows.height == 20 and not rows.select(IDENTITY).is_duplicated().any()
    table = lake.open_table(settings, BRONZE_EVENTS)
    assert txn_of(table, dead_letter_replay.APP_ID) == 1


def test_concurrent_replay_processes_write_each_message_once(settings: Settings) -> None:
    too_large_dead_letters(settings, 300)
    env = {**os.environ, "EVENTLAKE_LAKE_ROOT": settings.lake_root,
           "EVENTLAKE_MAX_MESSAGE_BYTES": str(1024 * 1024)}  # fmt: skip
    command = [sys.executable, "-m", "cli.main", "dead-letters", "replay", "--no-progress"]
    runs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for _ in range(2)]  # fmt: skip
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    replayed = sorted(int(out.split()[1]) for out, _ in outputs)
    assert replayed == [0, 300]
    rows = events(settings)
    assert rows.height == 300 and not rows.select(IDENTITY).is_duplicated().any()


def test_bad_input_is_one_line(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    bad = subprocess.run(
        [sys.executable, "-m", "cli.main", "dead-letters", "show", "user_events/x/1"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    assert "'user_events/x/1' is not TOPIC/PARTITION/OFFSET" in bad.stderr

    code, out = cli(capsys, settings, "list")  # no lake here
    assert code == 1 and out.count("\n") == 1 and "bronze/dead_letters does not exist" in out
    too_large_dead_letters(settings, 1)
    code, out = cli(capsys, settings, "show", "user_events/0/7")
    assert (code, out) == (1, "eventlake dead-letters: no dead letter at user_events/0/7 "
                              "(see `eventlake dead-letters list`)\n")  # fmt: skip
    with pytest.raises(SystemExit) as usage:
        cli(capsys, settings, "replay", "--code", "no_such_code")
    assert usage.value.code == 2 and "invalid choice: 'no_such_code'" in capsys.readouterr().err


def test_raw_messages_print_safely() -> None:
    assert render_bytes(b'{"a":1}', 2048) == ("7 bytes, UTF-8", '    {"a":1}')
    kind, body = render_bytes(b"\xff\x00\x1b[2J", 2048)
    assert (kind, body) == ("6 bytes, binary (hex)", "    ff 00 1b 5b 32 4a")
    kind, body = render_bytes(b"x" * 10, 4)
    assert kind == "10 bytes, UTF-8 (first 4 shown; --full prints all)" and body == "    xxxx"
    assert render_bytes(None, 10) == ("(none)", "")
