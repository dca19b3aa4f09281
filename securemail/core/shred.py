"""Crypto-shredding by expiry day: a one-way key ratchet kept outside the database.

The ratchet holds one secret, the key of "today" (UTC). The key of any later day is derived
by hashing forward; the key of an earlier day cannot be derived at all. Each message's data
key is wrapped under its key-encryption key *and* the key of the day it expires, so once the
ratchet has moved past that day (the worker advances it daily) the message is unreadable,
also from a database backup taken before: the backup holds only wrapped keys.

The ratchet's state lives in a `RatchetStore`: a file (owner-only, replaced atomically) for
one machine or a shared volume; a KMS or Vault store only has to implement the protocol.
Backups of that file defeat shredding for as long as they are kept: see README.
"""

import fcntl
import functools
import hashlib
import hmac
import logging
import os
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)

# Messages never expire more than SECUREMAIL_MAX_EXPIRY_DAYS ahead; this allows slack for
# clock and policy changes.
MAX_DAYS_AHEAD = 400


class DayKeyShredded(Exception):
    """The key of that day has been destroyed: what it protected is gone for good."""


@dataclass(frozen=True)
class RatchetState:
    day: date
    secret: bytes


def _next(secret: bytes) -> bytes:
    return hmac.digest(secret, b"securemail-ratchet-next", hashlib.sha256)


def _day_key(secret: bytes) -> bytes:
    # The wrapping key is derived from, not equal to, the chain value, so handing out a
    # day key never reveals the chain.
    return hmac.digest(secret, b"securemail-ratchet-daykey", hashlib.sha256)


class RatchetStore(Protocol):
    def load(self) -> RatchetState: ...

    def advance_to(self, day: date) -> RatchetState: ...


class FileRatchetStore:
    """`<day ISO> <hex secret>` in one file, rewritten atomically under an exclusive lock."""

    def __init__(self, path: Path, *, create: bool) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._cache: tuple[int, RatchetState] | None = None
        if not path.exists():
            if not create:
                raise ImproperlyConfigured(f"The shredding ratchet file {path} does not exist.")
            path.parent.mkdir(parents=True, exist_ok=True)
            self._write(RatchetState(day=today(), secret=secrets.token_bytes(32)), exclusive=True)

    def _write(self, state: RatchetState, *, exclusive: bool = False) -> None:
        """Write `state` whole to a file of its own, then put it in place: nobody ever reads
        a half-written ratchet. `exclusive`: only if there is none yet (a file another
        thread or process created first is kept)."""
        text = f"{state.day.isoformat()} {state.secret.hex()}\n"
        tmp = self.path.with_suffix(f".tmp{os.getpid()}-{threading.get_ident()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if not exclusive:
            os.replace(tmp, self.path)
            return
        try:
            os.link(tmp, self.path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()

    def load(self) -> RatchetState:
        stat = self.path.stat()
        with self._lock:
            if self._cache and self._cache[0] == stat.st_mtime_ns:
                return self._cache[1]
            day_text, secret_hex = self.path.read_text(encoding="utf-8").split()
            state = RatchetState(day=date.fromisoformat(day_text), secret=bytes.fromhex(secret_hex))
            self._cache = (stat.st_mtime_ns, state)
            return state

    def advance_to(self, day: date) -> RatchetState:
        lock_path = self.path.with_suffix(".lock")
        with open(lock_path, "a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                self._cache = None
                state = self.load()
                if state.day >= day:
                    return state
                secret = state.secret
                for _ in range((day - state.day).days):
                    secret = _next(secret)
                new_state = RatchetState(day=day, secret=secret)
                self._write(new_state)
                self._cache = None
                return new_state
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)


def today() -> date:
    return datetime.now(tz=UTC).date()


@functools.cache
def ratchet() -> RatchetStore:
    return FileRatchetStore(
        Path(settings.SECUREMAIL_RATCHET_FILE), create=settings.SECUREMAIL_CREATE_MISSING_KEYS
    )


# Derived day keys of the current ratchet state, dropped whenever the state moves on.
_derived: dict[date, bytes] = {}
_derived_from: list[RatchetState] = []
_derived_lock = threading.Lock()


_stale_reported: set[tuple[date, date]] = set()


def _report_if_stale(state: RatchetState) -> None:
    """Nobody has advanced the ratchet for days: the keys of expired messages still exist,
    so backups of them stay readable. Said once a day per process (the worker must run)."""
    now = today()
    behind = (now - state.day).days
    if behind > 1 and (state.day, now) not in _stale_reported:
        _stale_reported.add((state.day, now))
        logger.error(
            "shred: the ratchet is at %s, %s days behind; is the worker running?",
            state.day.isoformat(),
            behind,
        )


def day_key(day: date) -> bytes:
    """The wrapping key of `day`; DayKeyShredded once the ratchet has passed that day."""
    state = ratchet().load()
    ahead = (day - state.day).days
    if ahead < 0:
        raise DayKeyShredded(day.isoformat())
    if ahead > MAX_DAYS_AHEAD:
        raise ValueError("Expiry day is too far ahead.")
    with _derived_lock:
        if not _derived_from or _derived_from[0] != state:
            _derived.clear()
            _derived_from[:] = [state]
        _report_if_stale(state)
        key = _derived.get(day)
        if key is None:
            secret = state.secret
            for _ in range(ahead):
                secret = _next(secret)
            key = _derived[day] = _day_key(secret)
        return key


def advance(to: date | None = None) -> date:
    """Destroy the keys of every day before `to` (default: today, UTC). Run daily."""
    return ratchet().advance_to(to or today()).day
