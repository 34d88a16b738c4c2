"""Field encryption (eventlake/field_crypto.py), the registry's declarations and the key setting."""

from __future__ import annotations

import base64

import pytest

from eventlake.errors import ConfigError
from eventlake.field_crypto import (
    MasterKey,
    PrivacyError,
    is_token,
    new_data_key,
    new_master_key,
    open_token,
    seal,
    token_key_id,
)
from eventlake.registry import REGISTRY, SENSITIVE_FIELDS
from eventlake.settings import Settings

MASTER = MasterKey.from_text(new_master_key())


def data_key(subject: str = "user_a") -> tuple[str, bytes]:
    key_id, raw = new_data_key()
    return key_id, MASTER.wrap(subject, key_id, raw)


def test_a_sealed_value_opens_only_for_its_event_and_field() -> None:
    key_id, wrapped = data_key()
    key = MASTER.unwrap("user_a", key_id, wrapped)
    token = seal(key, "evt-1", "email", b'"ann@example.com"')
    assert is_token(token) and token.startswith(f"enc:v1:{key_id}:")
    assert "ann@example.com" not in token
    assert token_key_id(token) == key_id
    assert open_token(key, "evt-1", "email", token) == b'"ann@example.com"'
    assert seal(key, "evt-1", "email", b'"ann@example.com"') != token  # a fresh nonce each time
    with pytest.raises(PrivacyError, match="another event or field"):
        open_token(key, "evt-2", "email", token)  # moved to another event
    with pytest.raises(PrivacyError, match="another event or field"):
        open_token(key, "evt-1", "ip", token)  # moved to another field


def test_a_tampered_token_fails_cleanly() -> None:
    key_id, wrapped = data_key()
    key = MASTER.unwrap("user_a", key_id, wrapped)
    token = seal(key, "evt-1", "ip", b'"198.18.0.1"')
    head, data = token.rsplit(":", 1)
    flipped = data[:-2] + ("A" if data[-2] != "A" else "B") + data[-1]
    with pytest.raises(PrivacyError, match="altered"):
        open_token(key, "evt-1", "ip", f"{head}:{flipped}")
    with pytest.raises(PrivacyError, match=r"not valid base64|altered"):
        open_token(key, "evt-1", "ip", f"{head}:@@")
    with pytest.raises(PrivacyError, match="not an eventlake field token"):
        token_key_id("ann@example.com")


def test_a_token_needs_its_own_subjects_key() -> None:
    key_id, wrapped = data_key("user_a")
    other_id, other_wrapped = data_key("user_b")
    token = seal(MASTER.unwrap("user_a", key_id, wrapped), "evt-1", "email", b'"a"')
    with pytest.raises(PrivacyError, match="sealed with key"):
        open_token(MASTER.unwrap("user_b", other_id, other_wrapped), "evt-1", "email", token)


def test_a_wrapped_key_opens_only_with_its_master_subject_and_id() -> None:
    key_id, wrapped = data_key("user_a")
    other = MasterKey.from_text(new_master_key())
    assert other.key_id != MASTER.key_id
    for master, subject, kid in ((other, "user_a", key_id), (MASTER, "user_b", key_id),
                                 (MASTER, "user_a", "another-id")):  # fmt: skip
        with pytest.raises(PrivacyError, match="does not open"):
            master.unwrap(subject, kid, wrapped)


def test_keys_never_show_in_repr() -> None:
    text = new_master_key()
    master = MasterKey.from_text(text)
    key_id, wrapped = data_key()
    shown = repr(master) + repr(MASTER.unwrap("user_a", key_id, wrapped))
    assert text not in shown and master.key_id in shown and key_id in shown


@pytest.mark.parametrize(
    "value", ["not base64 at all!", base64.b64encode(b"short").decode(), "A" * 45]
)
def test_a_bad_master_key_is_a_usage_error_that_never_repeats_it(value: str) -> None:
    with pytest.raises(ConfigError, match="EVENTLAKE_PRIVACY_KEY: expected base64 of 32") as err:
        Settings.from_env(env={"EVENTLAKE_PRIVACY_KEY": value})
    assert value not in str(err.value)


def test_the_master_key_setting_is_masked_in_logs() -> None:
    text = new_master_key()
    settings = Settings.from_env(env={"EVENTLAKE_PRIVACY_KEY": text})
    assert settings.privacy_key == text
    assert settings.redacted()["privacy_key"] == "***"
    assert text not in repr(settings) and text not in str(settings.redacted())
    assert Settings.from_env(env={}).redacted()["privacy_key"] is None


def test_sensitive_fields_are_declared_with_a_string_subject_in_every_version() -> None:
    assert SENSITIVE_FIELDS == {"user_signup": ("email",), "login": ("ip",)}
    for name, fields in SENSITIVE_FIELDS.items():
        event_type = REGISTRY[name]
        assert event_type.subject not in fields
        for version in event_type.versions.values():
            rules = {rule.name: rule for rule in version.fields}
            subject = rules[event_type.subject]
            assert subject.kind == "str" and subject.required, (name, version.version)
            assert not set(fields) & set(rules), "a sensitive field in a schema: its rule "
