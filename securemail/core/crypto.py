"""Envelope encryption: AES-256-GCM data keys wrapped by key-encryption keys (KEKs).

The KEKs never touch the database. They come from a key store (`SECUREMAIL_KEYS`, or
`SECUREMAIL_KEYS_FILE`, or the keyring file under `var/` for the embedded default); a KMS
or Vault store only has to implement `KeyStore`.

Every ciphertext is bound to where it lives through its associated data (`context`), so a
ciphertext copied to another row or field fails to open instead of showing the wrong text.
"""

import base64
import contextlib
import fcntl
import functools
import hmac
import os
import secrets
import struct
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from securemail.core import shred

NONCE_BYTES = 12
KEY_BYTES = 32
# A wrapped data key: format byte, KEK version (uint32), expiry day (int32 ordinal, 0 for
# none), nonce, AES-GCM(dk). Format 1 wraps under the KEK alone; format 2 under the KEK
# combined with the expiry day's shredding key (see securemail.core.shred).
_WRAP_HEADER = struct.Struct(">BIi")
_WRAP_KEK_ONLY = 1
_WRAP_WITH_DAY = 2


class DecryptionError(Exception):
    """A ciphertext failed its integrity check (altered, moved, or its key is gone)."""


class KeyStore(Protocol):
    """Where key-encryption keys come from. A KMS or Vault store implements this too."""

    def versions(self) -> dict[int, bytes]: ...

    def add_version(self) -> int: ...

    def remove_version(self, version: int) -> None: ...


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
    """Keys given in the environment; changing them means a rolling restart."""

    def __init__(self, text: str) -> None:
        self._keys = parse_keys(text)

    def versions(self) -> dict[int, bytes]:
        return self._keys

    def add_version(self) -> int:
        raise ImproperlyConfigured(
            "Keys come from SECUREMAIL_KEYS: add the new version there (see README)."
        )

    def remove_version(self, version: int) -> None:
        raise ImproperlyConfigured(
            f"Keys come from SECUREMAIL_KEYS: remove version {version} there (see README)."
        )


class FileKeyStore:
    """Keys in a file readable by the owner only, re-read whenever it changes, so every
    process sees a newly added version at once (rotation without restarts)."""

    def __init__(self, path: Path, *, create: bool) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._cache: tuple[int, dict[int, bytes]] | None = None
        if not path.exists():
            if not create:
                raise ImproperlyConfigured(f"The keyring file {path} does not exist.")
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                return
            with os.fdopen(fd, "w") as handle:
                handle.write(format_key(1, secrets.token_bytes(KEY_BYTES)) + "\n")

    def versions(self) -> dict[int, bytes]:
        mtime = self.path.stat().st_mtime_ns
        with self._lock:
            if self._cache is None or self._cache[0] != mtime:
                self._cache = (mtime, parse_keys(self.path.read_text(encoding="utf-8")))
            return self._cache[1]

    def _write(self, keys: dict[int, bytes]) -> None:
        tmp = self.path.with_suffix(f".tmp{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write("".join(format_key(v, k) + "\n" for v, k in sorted(keys.items())))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)
        with self._lock:
            self._cache = None

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[dict[int, bytes]]:
        """The current keys, under a lock that other processes' add/remove also take (so a
        `keys add` and a `keys retire` at once can't lose a version)."""
        with open(self.path.with_suffix(".lock"), "a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                with self._lock:
                    self._cache = None
                yield dict(self.versions())
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)

    def add_version(self) -> int:
        with self._exclusive() as keys:
            version = max(keys) + 1
            keys[version] = secrets.token_bytes(KEY_BYTES)
            self._write(keys)
        return version

    def remove_version(self, version: int) -> None:
        with self._exclusive() as keys:
            if version not in keys or len(keys) == 1:
                raise ValueError("That version can't be removed.")
            del keys[version]
            self._write(keys)


class Keyring:
    def __init__(self, store: KeyStore, *, active_version: int | None = None) -> None:
        self.store = store
        self._pinned_active = active_version

    @property
    def active_version(self) -> int:
        """New data keys are wrapped by this version: the pinned one (for a staged rollout
        of environment keys) or the newest."""
        return self._pinned_active or max(self.store.versions())

    def kek(self, version: int) -> bytes:
        try:
            return self.store.versions()[version]
        except KeyError:
            raise DecryptionError(f"Key version {version} is not in the keyring.") from None


@functools.cache
def keyring() -> Keyring:
    store: KeyStore
    if settings.SECUREMAIL_KEYS:
        store = EnvKeyStore(settings.SECUREMAIL_KEYS)
    else:
        store = FileKeyStore(
            settings.SECUREMAIL_KEYRING_FILE, create=settings.SECUREMAIL_CREATE_MISSING_KEYS
        )
    return Keyring(store, active_version=settings.SECUREMAIL_ACTIVE_KEY_VERSION)


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


@functools.lru_cache(maxsize=256)
def _combine(kek: bytes, day_key: bytes) -> AESGCM:
    key = HKDF(
        algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=b"securemail-wrap-v2"
    ).derive(kek + day_key)
    return AESGCM(key)


@functools.lru_cache(maxsize=16)
def _kek_cipher(kek: bytes) -> AESGCM:
    return AESGCM(kek)


def _wrapping_cipher(kek: bytes, day: date | None) -> AESGCM:
    if day is None:
        return _kek_cipher(kek)
    try:
        day_key = shred.day_key(day)
    except shred.DayKeyShredded:
        raise DecryptionError(f"The key of {day.isoformat()} has been shredded.") from None
    except ValueError:
        # A day further ahead than any message can expire: an altered header.
        raise DecryptionError("Wrapped key names an impossible expiry day.") from None
    # Cached by (kek, day key): once a day key is destroyed, its entry is never hit again.
    return _combine(kek, day_key)


@functools.lru_cache(maxsize=256)
def _index_root(kek: bytes, day_key: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=b"securemail-index-v1"
    ).derive(kek + day_key)


def index_key(*, day: date, scope: str, version: int | None = None) -> tuple[int, bytes]:
    """The key of a keyed index (tokens that are HMACs of words, e.g. one person's search
    index) for `scope` and `day`, and the keyring version it was derived under (the active
    one unless `version` is given).

    Derived from a key-encryption key *and* the day's shredding key, as the wrapping of a
    data key expiring that day is: a database dump alone computes no token, and once the
    ratchet has passed `day` nobody can compute that day's tokens again, so index rows in
    old backups match nothing. DecryptionError when the day's key is gone (or `version` is
    not in the keyring)."""
    ring = keyring()
    version = version or ring.active_version
    kek = ring.kek(version)
    try:
        day_key = shred.day_key(day)
    except shred.DayKeyShredded:
        raise DecryptionError(f"The key of {day.isoformat()} has been shredded.") from None
    except ValueError:
        raise DecryptionError("An index day further ahead than any message expires.") from None
    return version, hmac.digest(_index_root(kek, day_key), f"scope|{scope}".encode(), "sha256")


def wrap_data_key(data_key: bytes, *, context: str, expires_on: date | None = None) -> bytes:
    """Wrap under the active KEK (and, with `expires_on`, that day's shredding key)."""
    ring = keyring()
    nonce = secrets.token_bytes(NONCE_BYTES)
    aad = f"dk|{context}".encode()
    fmt = _WRAP_KEK_ONLY if expires_on is None else _WRAP_WITH_DAY
    day_ordinal = expires_on.toordinal() if expires_on else 0
    header = _WRAP_HEADER.pack(fmt, ring.active_version, day_ordinal)
    cipher = _wrapping_cipher(ring.kek(ring.active_version), expires_on)
    return header + nonce + cipher.encrypt(nonce, data_key, header + aad)


def _parse_wrapped(wrapped: bytes) -> tuple[int, int, date | None]:
    if len(wrapped) < _WRAP_HEADER.size + NONCE_BYTES + KEY_BYTES:
        raise DecryptionError("Wrapped key is too short.")
    fmt, version, ordinal = _WRAP_HEADER.unpack_from(wrapped)
    if fmt not in {_WRAP_KEK_ONLY, _WRAP_WITH_DAY}:
        raise DecryptionError("Unknown wrapped-key format.")
    try:
        day = date.fromordinal(ordinal) if fmt == _WRAP_WITH_DAY else None
    except ValueError:
        raise DecryptionError("Wrapped key has a bad expiry day.") from None
    return fmt, version, day


def unwrap_data_key(wrapped: bytes, *, context: str) -> bytes:
    wrapped = bytes(wrapped)
    _, version, day = _parse_wrapped(wrapped)
    header = wrapped[: _WRAP_HEADER.size]
    nonce = wrapped[_WRAP_HEADER.size : _WRAP_HEADER.size + NONCE_BYTES]
    body = wrapped[_WRAP_HEADER.size + NONCE_BYTES :]
    cipher = _wrapping_cipher(keyring().kek(version), day)
    try:
        return cipher.decrypt(nonce, body, header + f"dk|{context}".encode())
    except InvalidTag:
        raise DecryptionError("Wrapped key failed its integrity check.") from None


def rewrap_data_key(wrapped: bytes, *, context: str, move_to_day: date | None = None) -> bytes:
    """Unwrap and wrap again under the active KEK; `move_to_day` puts it under another
    day's shredding key (default: keep its day)."""
    _, _, day = _parse_wrapped(bytes(wrapped))
    data_key = unwrap_data_key(wrapped, context=context)
    return wrap_data_key(data_key, context=context, expires_on=move_to_day or day)


def wrapped_key_day(wrapped: bytes) -> date | None:
    return _parse_wrapped(bytes(wrapped))[2]


def wrapped_key_version(wrapped: bytes) -> int:
    return _parse_wrapped(bytes(wrapped))[1]


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
