"""Privacy (docs/privacy.md): sensitive fields sealed at ingest, and crypto-shredding.

The end-to-end test runs a real `eventlake ingest` process with EVENTLAKE_PRIVACY_KEY against
the real broker, then erases one of two users with the real CLI and reads the lake's files.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import msgspec
import polars as pl
import pytest
from ingest_checks import produce
from polars.testing import assert_frame_equal
from processes import Ingester

from cli.main import main
from eventlake import lake
from eventlake.catalog import (
    BRONZE_DEAD_LETTERS,
    BRONZE_EVENTS,
    PRIVACY_SUBJECT_KEYS,
    SILVER_EVENTS,
    TABLES,
)
from eventlake.errors import ConfigError
from eventlake.field_crypto import KeyErased, MasterKey, new_master_key
from eventlake.settings import Settings
from eventlake.subject_keys import KeyRing, master_key_of, open_keys
from ingest.tools import dead_letter_replay
from ingest.write.bronze import BronzeWriter
from ingest.write.field_sealing import FieldSealer, bronze_writer
from operations.reveal import reveal, reveal_payload
from orchestration.materialize import materialize_days

DAY = datetime.now(UTC).date() - timedelta(days=2)
# No substring shared between the users' values: a compressed file cannot hide one in another
PERSONAL = {
    "user_a": {"email": "ann.zephyr@qmail.test", "ip": "198.18.7.42"},
    "user_b": {"email": "bob.kettle@wpost.invalid", "ip": "203.0.113.99"},
}


def message(event_id: str, event_type: str, user: str, minute: int, payload: dict) -> bytes:
    moment = datetime.combine(DAY, time(10, minute), UTC)
    return msgspec.json.encode(
        {
            "event_id": event_id,
            "event_type": event_type,
            "aggregate_id": user,
            "timestamp": int(moment.timestamp() * 1000),
            "schema_version": 2 if event_type == "user_signup" else 1,
            "payload": {"user_id": user, **payload},
            "metadata": {"session_id": f"s-{user}"},
        }
    )


def traffic(user: str) -> list[tuple[str, bytes]]:
    """(event_id, value) of one user's morning: signup with email, login with ip, pages; and
    a signup without its plan (a dead letter that still carries the email)."""
    email, ip = PERSONAL[user]["email"], PERSONAL[user]["ip"]
    signup = {"signup_source": "organic", "plan": "free", "country": "FR", "email": email}
    bad = {"signup_source": "organic", "country": "FR", "email": email}
    return [
        (f"{user}-signup", message(f"{user}-signup", "user_signup", user, 0, signup)),
        (f"{user}-login", message(f"{user}-login", "login", user, 5, {"ip": ip})),
        (f"{user}-page", message(f"{user}-page", "page_view", user, 9, {"url": "https://x/"})),
        (f"{user}-bad", message(f"{user}-bad", "user_signup", user, 12, bad)),
    ]


def files_under(settings: Settings, spec) -> list[Path]:  # type: ignore[no-untyped-def]
    return [p for p in Path(lake.table_uri(settings, spec)).rglob("*") if p.is_file()]


def text_of_files(settings: Settings, spec) -> str:  # type: ignore[no-untyped-def]
    """Returns every file of the table as text: raw bytes, and each Parquet file's values
    (compression could hide a value from the raw bytes), referenced by the log or not."""
    parts = []
    for path in files_under(settings, spec):
        parts.append(path.read_bytes().decode("latin-1"))
        if path.suffix == ".parquet":
            frame = pl.read_parquet(path)
            parts += [str(v) for column in frame.iter_columns() for v in column.to_list()]
    return "\n".join(parts)


def wrapped_keys(settings: Settings, subject: str) -> set[bytes]:
    """Returns the wrapped keys of `subject` found in any Parquet file of the key table."""
    found = set()
    for path in files_under(settings, PRIVACY_SUBJECT_KEYS):
        if path.suffix == ".parquet":
            frame = pl.read_parquet(path).filter(pl.col("subject_id") == subject)
            found |= set(frame.get_column("wrapped_key").to_list())
    return found


def gold_tables(settings: Settings) -> dict[str, pl.DataFrame]:
    return {
        spec.name: lake.scan(settings, spec).collect().sort(pl.all())
        for spec in TABLES
        if spec.layer == "gold" and lake.open_table(settings, spec) is not None
    }


def cli(capsys: pytest.CaptureFixture[str], settings: Settings, *args: str) -> tuple[int, str]:
    code = main(["privacy", *args, "--lake-root", settings.lake_root])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_erasing_a_user_shreds_their_fields_and_keeps_the_figures(
    kafka_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    key = new_master_key()
    monkeypatch.setenv("EVENTLAKE_PRIVACY_KEY", key)  # the ingester and the CLI inherit it
    settings = dataclasses.replace(kafka_settings, privacy_key=key)
    sent = traffic("user_a") + traffic("user_b")
    produce(settings, [(settings.topics[0], e.split("-")[0].encode(), v) for e, v in sent])
    ingester = Ingester(settings, tmp_path / "ingest.log", "--until-idle")
    assert ingester.finish(120) == 0, ingester.text()[-3000:]

    # sealed at ingest: no plaintext in bronze/events, in its values or in its files
    events = lake.scan(settings, BRONZE_EVENTS).collect()
    assert events.height == 6 and lake.scan(settings, BRONZE_DEAD_LETTERS).collect().height == 2
    stored = text_of_files(settings, BRONZE_EVENTS)
    for values in PERSONAL.values():
        for value in values.values():
            assert value not in stored
    assert stored.count("enc:v1:") >= 4
    # the dead letters hold the raw messages: the same search finds the emails there
    assert all(
        v["email"] in text_of_files(settings, BRONZE_DEAD_LETTERS) for v in PERSONAL.values()
    )

    # operators with the key read them back; nothing else changed in the payload
    for user, values in PERSONAL.items():
        assert reveal(settings, f"{user}-signup", day=DAY) == {
            "user_id": user, "signup_source": "organic", "plan": "free", "country": "FR",
            "email": values["email"],
        }  # fmt: skip
        assert reveal(settings, f"{user}-login")["ip"] == values["ip"]
    code, out = cli(capsys, settings, "reveal", "--event-id", "user_b-login")
    assert code == 0 and msgspec.json.decode(out) == {"ip": "203.0.113.99", "user_id": "user_b"}

    materialize_days(settings, DAY, DAY)
    silver = lake.scan(settings, SILVER_EVENTS).collect().get_column("payload").str.join("\n")
    assert silver.item().count("enc:v1:") == 4  # silver copies the tokens, no plaintext
    assert not any(v in silver.item() for values in PERSONAL.values() for v in values.values())
    before = gold_tables(settings)
    dau = before["gold/daily_active_users"].filter(pl.col("day") == DAY)
    assert dau.get_column("dau").to_list() == [2]
    assert "gold/sessions_daily" in before
    user_a_keys = wrapped_keys(settings, "user_a")
    assert user_a_keys and wrapped_keys(settings, "user_b")

    # a dry run erases nothing
    code, out = cli(capsys, settings, "erase", "user_a")
    assert code == 0 and "would erase user_a: 1 data keys, 1 dead letters" in out
    assert wrapped_keys(settings, "user_a") == user_a_keys

    code, out = cli(capsys, settings, "erase", "user_a", "--yes")
    assert code == 0, out
    assert out.startswith("erased user_a: 1 data keys and 1 dead letters deleted")

    # user_a's fields are unreadable for good: no key in any file of the key table
    with pytest.raises(KeyErased, match=r"field 'email' cannot be decrypted: .* was erased"):
        reveal(settings, "user_a-signup")
    code, out = cli(capsys, settings, "reveal", "--event-id", "user_a-login")
    assert code == 1 and "was erased" in out and "Traceback" not in out
    assert out.count("\n") == 1
    assert wrapped_keys(settings, "user_a") == set()
    key_files = text_of_files(settings, PRIVACY_SUBJECT_KEYS).encode("latin-1")
    for wrapped in user_a_keys:
        assert wrapped not in key_files and wrapped.hex().encode() not in key_files
    # ...and no dead letter of theirs, in any file; user_b's stay
    dead = text_of_files(settings, BRONZE_DEAD_LETTERS)
    assert PERSONAL["user_a"]["email"] not in dead and PERSONAL["user_b"]["email"] in dead
    assert lake.scan(settings, BRONZE_DEAD_LETTERS).collect().height == 1

    # user_b is untouched; the log is as it was; the figures are the same
    assert reveal(settings, "user_b-signup")["email"] == PERSONAL["user_b"]["email"]
    assert_frame_equal(lake.scan(settings, BRONZE_EVENTS).collect(), events)
    materialize_days(settings, DAY, DAY)
    after = gold_tables(settings)
    assert after.keys() == before.keys()
    for name, frame in before.items():
        assert_frame_equal(after[name], frame, check_exact=False)

    # the key never reached a log or a repr
    log_text = ingester.text()
    assert "sealing the sensitive payload fields login.ip, user_signup.email" in log_text
    assert key not in log_text and key not in repr(settings) + str(settings.redacted())


def test_without_a_key_the_ingester_warns_and_stores_fields_as_received(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="ingest.write.field_sealing"):
        writer = bronze_writer(settings)
    assert type(writer) is BronzeWriter
    assert [r.getMessage() for r in caplog.records] == [
        "EVENTLAKE_PRIVACY_KEY is not set: the sensitive payload fields login.ip, "
        "user_signup.email are stored as received (see docs/privacy.md)"
    ]


def sealed_rows(settings: Settings) -> pl.DataFrame:
    """Returns two login rows of two users, sealed under the settings' master key."""
    rows = pl.DataFrame(
        {
            "event_id": ["e1", "e2", "e3"],
            "event_type": ["login", "login", "page_view"],
            "payload": ['{"user_id":"u1","ip":"198.18.0.1"}', '{"user_id":"u2","ip":"1.1.1.1"}',
                        '{"user_id":"u1","url":"https://x/","ip":"kept"}'],
        }
    )  # fmt: skip
    sealed = FieldSealer(KeyRing(settings, master_key_of(settings))).seal(rows)
    assert sealed.get_column("payload").str.contains("enc:v1:").to_list() == [True, True, False]
    assert sealed.row(2) == rows.row(2)  # a type without sensitive fields is left alone
    return sealed


def test_rotating_the_master_key_rewraps_every_key(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = new_master_key(), new_master_key()
    old_settings = dataclasses.replace(settings, privacy_key=old)
    sealed = sealed_rows(old_settings)
    old_wrapped = wrapped_keys(settings, "u1") | wrapped_keys(settings, "u2")
    assert len(old_wrapped) == 2

    monkeypatch.setenv("EVENTLAKE_PRIVACY_KEY", old)
    monkeypatch.setenv("EVENTLAKE_PRIVACY_NEW_KEY", new)
    code, out = cli(capsys, settings, "rotate-key", "--yes")
    assert code == 0 and out.startswith("rewrapped 2 data keys from master key"), out

    new_master = MasterKey.from_text(new)
    table = open_keys(settings)
    for event_id, text, ip in zip(
        ["e1", "e2"], sealed["payload"][:2], ["198.18.0.1", "1.1.1.1"], strict=True
    ):
        assert reveal_payload(table, new_master, event_id, text)["ip"] == ip
    with pytest.raises(ConfigError, match="holds keys wrapped under master key"):
        KeyRing(old_settings, master_key_of(old_settings))  # an ingester with the old key stops
    remaining = wrapped_keys(settings, "u1") | wrapped_keys(settings, "u2")
    assert len(remaining) == 2 and not remaining & old_wrapped  # the old copies are vacuumed


def test_replayed_dead_letters_are_sealed_like_ingested_events(settings: Settings) -> None:
    key = new_master_key()
    settings = dataclasses.replace(settings, privacy_key=key)
    ip = PERSONAL["user_a"]["ip"]
    raw = message("replayed-login", "login", "user_a", 5, {"ip": ip})
    at = datetime.now(UTC).replace(microsecond=0)
    dead = {
        "kafka_topic": "user_events", "kafka_partition": 0, "kafka_offset": 7,
        "kafka_timestamp": at, "key": b"user_a", "raw": raw, "error_code": "too_large",
        "error_detail": f"{len(raw)} bytes is over the limit of 100", "ingested_at": at,
    }  # fmt: skip
    lake.append(settings, BRONZE_DEAD_LETTERS, pl.DataFrame([dead]))
    lake.ensure_table(settings, BRONZE_EVENTS)

    done = dead_letter_replay.replay(settings, dead_letter_replay.Selection(codes=("too_large",)))

    assert done.replayed == 1
    assert ip not in text_of_files(settings, BRONZE_EVENTS)
    assert reveal(settings, "replayed-login")["ip"] == ip
