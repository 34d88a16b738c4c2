"""Field encryption for crypto-shredding: master key, per-subject data keys, field tokens.

Envelope encryption (docs/privacy.md): the master key from EVENTLAKE_PRIVACY_KEY wraps one
random data key per subject (user); each sensitive payload value is encrypted under its
subject's data key and stored as a token `enc:v1:<key_id>:<base64url(nonce | ciphertext)>`.
Deleting a subject's data keys makes every token under them unreadable, while the rest of the
event stays usable. AES-256-GCM throughout; the associated data binds a token to its event and
field, and a wrapped key to its subject and key id, so neither can be moved elsewhere.

Pure: no I/O, no clock, no environment. Key values never appear in a repr or an error.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from eventlake.errors import EventlakeError

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12
KEY_ID_BYTES = 12  # 96 random bits: ids of a million keys collide with odds ~1e-17
TOKEN_PREFIX = "enc:v1:"
_WRAP_CONTEXT = b"eventlake/subject-key/v1"
_FIELD_CONTEXT = b"eventlake/field/v1"
_FINGERPRINT_CONTEXT = b"eventlake/master-key-id/v1"


class PrivacyError(EventlakeError):
    """A sensitive value or key cannot be read: wrong key, tampered or misplaced ciphertext."""


class KeyErased(PrivacyError):
    """The data key a token was sealed with is gone: its subject was erased."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def parse_master_key(text: str) -> bytes:
    """Returns the 32 key bytes of `text` (standard or URL-safe base64).

    Raises:
        ValueError: not base64 of 32 bytes (the message never repeats the value).
    """
    compact = "".join(text.split())
    try:
        raw = base64.b64decode(compact.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("expected base64 of 32 random bytes (not valid base64)") from None
    if len(raw) != KEY_BYTES:
        raise ValueError(f"expected base64 of 32 random bytes, got {len(raw)} bytes")
    return raw


def new_master_key() -> str:
    """Returns a fresh random master key as base64 text (for EVENTLAKE_PRIVACY_KEY)."""
    return base64.b64encode(os.urandom(KEY_BYTES)).decode("ascii")


@dataclass(frozen=True, repr=False)
class MasterKey:
    """The key-encryption key: wraps and unwraps subjects' data keys."""

    key_id: str  # a fingerprint that names the key without revealing it
    _aead: AESGCM = field(compare=False)

    @classmethod
    def from_text(cls, text: str) -> MasterKey:
        """Returns the master key of base64 `text`.

        Raises:
            ValueError: not base64 of 32 bytes.
        """
        raw = parse_master_key(text)
        digest = hmac.new(raw, _FINGERPRINT_CONTEXT, hashlib.sha256).digest()
        return cls(digest[:8].hex(), AESGCM(raw))

    def __repr__(self) -> str:
        return f"MasterKey(key_id={self.key_id!r})"

    def wrap(self, subject_id: str, key_id: str, data_key: bytes) -> bytes:
        """Returns `data_key` encrypted for storage: nonce | ciphertext | tag (60 bytes)."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, data_key, _wrap_context(subject_id, key_id))

    def unwrap(self, subject_id: str, key_id: str, wrapped: bytes) -> DataKey:
        """Returns the data key `wrap` sealed for this subject and key id.

        Raises:
            PrivacyError: another master key wrapped it, or it was altered or moved.
        """
        return DataKey(key_id, self.unwrap_raw(subject_id, key_id, wrapped))

    def unwrap_raw(self, subject_id: str, key_id: str, wrapped: bytes) -> bytes:
        """Returns the raw bytes of a wrapped data key (rotation rewraps them).

        Raises:
            PrivacyError: another master key wrapped it, or it was altered or moved.
        """
        try:
            return self._aead.decrypt(
                wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _wrap_context(subject_id, key_id)
            )
        except (InvalidTag, ValueError):
            raise PrivacyError(
                f"data key {key_id} of subject {subject_id!r} does not open with master key "
                f"{self.key_id}: wrapped under another master key, or altered"
            ) from None


@dataclass(frozen=True, repr=False, slots=True)
class DataKey:
    """One subject's data key: seals and opens that subject's sensitive values.

    Holds the raw bytes, not a cipher object: the ingester caches many keys, and a cipher
    object costs ~2.5 KB of memory where the bytes cost ~0.1 KB (making one per use is cheap).
    """

    key_id: str
    secret: bytes = field(compare=False)

    def __repr__(self) -> str:
        return f"DataKey(key_id={self.key_id!r})"


def new_data_key() -> tuple[str, bytes]:
    """Returns (a fresh random key id, a fresh random 32-byte data key)."""
    return _b64(os.urandom(KEY_ID_BYTES)), os.urandom(KEY_BYTES)


def _wrap_context(subject_id: str, key_id: str) -> bytes:
    subject = subject_id.encode()
    return b"%s|%d|%s|%s" % (_WRAP_CONTEXT, len(subject), subject, key_id.encode())


def field_context(event_id: str, field_name: str) -> bytes:
    """Returns the associated data of a token: binds it to one event's one field."""
    event = event_id.encode()
    return b"%s|%d|%s|%s" % (_FIELD_CONTEXT, len(event), event, field_name.encode())


def seal(
    key: DataKey, event_id: str, field_name: str, plaintext: bytes, nonce: bytes | None = None
) -> str:
    """Returns the token of `plaintext` (a field's JSON value) for this event and field.

    Args:
        nonce: NONCE_BYTES fresh random bytes (default: drawn here); callers sealing many
            values draw them in one call, which is cheaper.
    """
    nonce = os.urandom(NONCE_BYTES) if nonce is None else nonce
    if len(nonce) != NONCE_BYTES:
        raise ValueError(f"a nonce has {NONCE_BYTES} bytes")
    sealed = AESGCM(key.secret).encrypt(nonce, plaintext, field_context(event_id, field_name))
    return f"{TOKEN_PREFIX}{key.key_id}:{_b64(nonce + sealed)}"


def is_token(value: object) -> bool:
    """Returns True when `value` is a token `seal` made."""
    return isinstance(value, str) and value.startswith(TOKEN_PREFIX)


def token_key_id(token: str) -> str:
    """Returns the id of the data key a token was sealed with.

    Raises:
        PrivacyError: `token` is not a token.
    """
    key_id, sep, _ = token[len(TOKEN_PREFIX) :].partition(":") if is_token(token) else ("", "", "")
    if not sep or not key_id:
        raise PrivacyError("not an eventlake field token (expected enc:v1:<key_id>:<data>)")
    return key_id


def open_token(key: DataKey, event_id: str, field_name: str, token: str) -> bytes:
    """Returns the plaintext `seal` sealed into `token`.

    Raises:
        PrivacyError: the token is malformed, of another key, event or field, or altered.
    """
    key_id = token_key_id(token)
    where = f"event {event_id!r} field {field_name!r}"
    if key_id != key.key_id:
        raise PrivacyError(f"{where}: sealed with key {key_id}, not {key.key_id}")
    try:
        data = _unb64(token[len(TOKEN_PREFIX) + len(key_id) + 1 :])
    except (binascii.Error, ValueError):
        raise PrivacyError(f"{where}: the token is not valid base64") from None
    try:
        return AESGCM(key.secret).decrypt(
            data[:NONCE_BYTES], data[NONCE_BYTES:], field_context(event_id, field_name)
        )
    except (InvalidTag, ValueError):
        raise PrivacyError(
            f"{where}: the token does not open: altered, or sealed for another event or field"
        ) from None
