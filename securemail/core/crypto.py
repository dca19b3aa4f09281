"""Envelope encryption: AES-256-GCM data keys wrapped by key-encryption keys (KEKs).

The KEKs never touch the database. They come from a key store (`SECUREMAIL_KEYS`, or
`SECUREMAIL_KEYS_FILE`, or the keyring file under `var/` for the embedded default); a KMS
or Vault store only has to implement `KeyStore`.

Every ciphertext is bound to where it lives through its associated data (`context`), so a
ciphertext copied to another row or field fails to open instead of showing the wrong text.
"""

import base64
import functools
import os
import secrets
import struct
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

NONCE_BYTES = 12
KEY_BYTES = 32
# A wrapped data key: format byte, KEK version (uint32), nonce, AES-GCM(dk).
_WRAP_HEADER = struct.Struct(">BI")
_WRAP_FORMAT = 1


class DecryptionError(Exception):
    """A ciphertext failed its integrity check (altered, moved, or its key is gone)."""


class KeyStore(Protocol):
    def versions(self) -> dict[int, bytes]: ...


def parse_keys(text: str) -> dict[int, bytes]:
    """Parse `version:base64key` pairs separated by commas or new lines."""
    keys: dict[int, bytes] = {}
    for raw in text.replace(",", "\n").splitlines():
        item = raw.strip()
        if not item or item.startswith("#"):
            continue
        version_text, _, key_text = item.partition(":")
        try:
            version = int(version_text)
            key = base64.b64decode(key_text, validate=True)
        except ValueError as error:
            raise ImproperlyConfigured("A SecureMail key is malformed.") from error
        if len(key) != KEY_BYTES or version < 1:
            raise ImproperlyConfigured("SecureMail keys are 32 bytes with a version >= 1.")
        keys[version] = key
    if not keys:
        raise ImproperlyConfigured("The SecureMail keyring is empty.")
    return keys


def format_key(version: int, key: bytes) -> str:
    return f"{version}:{base64.b64encode(key).decode()}"


class EnvKeyStore:
    def __init__(self, text: str) -> None:
        self._keys = parse_keys(text)

    def versions(self) -> dict[int, bytes]:
        return dict(self._keys)


class FileKeyStore:
    """Keys in a file readable by the owner only; created on first use (development)."""

    def __init__(self, path: Path, *, create: bool) -> None:
        self.path = path
        if not path.exists():
            if not create:
                raise ImproperlyConfigured(f"The keyring file {path} does not exist.")
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(format_key(1, secrets.token_bytes(KEY_BYTES)) + "\n")
        self._keys = parse_keys(path.read_text(encoding="utf-8"))

    def versions(self) -> dict[int, bytes]:
        return dict(self._keys)


class Keyring:
    def __init__(self, store: KeyStore) -> None:
        self._keys = store.versions()
        self.active_version = max(self._keys)

    def kek(self, version: int) -> bytes:
        try:
            return self._keys[version]
        except KeyError:
            raise DecryptionError(f"Key version {version} is not in the keyring.") from None


@functools.cache
def keyring() -> Keyring:
    if settings.SECUREMAIL_KEYS:
        return Keyring(EnvKeyStore(settings.SECUREMAIL_KEYS))
    return Keyring(FileKeyStore(settings.SECUREMAIL_KEYRING_FILE, create=settings.DEBUG))


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def wrap_data_key(data_key: bytes, *, context: str) -> bytes:
    ring = keyring()
    nonce = secrets.token_bytes(NONCE_BYTES)
    aad = f"dk|{context}".encode()
    wrapped = AESGCM(ring.kek(ring.active_version)).encrypt(nonce, data_key, aad)
    return _WRAP_HEADER.pack(_WRAP_FORMAT, ring.active_version) + nonce + wrapped


def unwrap_data_key(wrapped: bytes, *, context: str) -> bytes:
    wrapped = bytes(wrapped)
    if len(wrapped) < _WRAP_HEADER.size + NONCE_BYTES + KEY_BYTES:
        raise DecryptionError("Wrapped key is too short.")
    fmt, version = _WRAP_HEADER.unpack_from(wrapped)
    if fmt != _WRAP_FORMAT:
        raise DecryptionError("Unknown wrapped-key format.")
    nonce = wrapped[_WRAP_HEADER.size : _WRAP_HEADER.size + NONCE_BYTES]
    body = wrapped[_WRAP_HEADER.size + NONCE_BYTES :]
    try:
        return AESGCM(keyring().kek(version)).decrypt(nonce, body, f"dk|{context}".encode())
    except InvalidTag:
        raise DecryptionError("Wrapped key failed its integrity check.") from None


def wrapped_key_version(wrapped: bytes) -> int:
    return int(_WRAP_HEADER.unpack_from(bytes(wrapped))[1])


def seal(data_key: bytes, plaintext: str, *, context: str) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + AESGCM(data_key).encrypt(nonce, plaintext.encode(), context.encode())


def open_sealed(data_key: bytes, sealed: bytes, *, context: str) -> str:
    sealed = bytes(sealed)
    try:
        plain = AESGCM(data_key).decrypt(
            sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], context.encode()
        )
    except (InvalidTag, ValueError):
        raise DecryptionError("Ciphertext failed its integrity check.") from None
    return plain.decode()
