"""Browsers that have logged in to an account before: OWASP's "device cookies".

Each successful login leaves a signed cookie in the browser (Django's signing, under
SECRET_KEY) naming the account's id, a random id of its own for this browser, when, and a
stamp of the account's current password hash. The lock that wrong passwords set applies to
browsers without one: the owner's own browser keeps logging in with the right password while
someone who only knows the address locks it for everyone else, and its wrong passwords count
against that browser alone (accounts.services.log_in). A new password (a reset) changes the
stamp, so every browser known before it is forgotten.

One cookie holds up to MAX_ACCOUNTS accounts (a front-desk computer several people use); no
address, name or anything about a patient is in it, only ids. Read and written by
accounts.services; the login view moves it between request and response.
"""

import secrets
import time
from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac

from securemail.accounts.models import User
from securemail.core.limits import limits

COOKIE_NAME = "securemail_browser"
# The newest accounts logged in to in one browser, at most this many.
MAX_ACCOUNTS = 5
_SALT = "securemail.accounts.devices"
# Longer than any cookie we write (5 short entries, compressed): anything else is not ours.
_LONGEST_COOKIE = 2048


@dataclass(frozen=True)
class KnownBrowser:
    """A browser that logged in to `user_id` (its entry in the cookie)."""

    user_id: int
    # Random, chosen at the first login: names this browser's own allowance of wrong
    # passwords ("login_failed_browser").
    browser_id: str


def max_age() -> int:
    return limits().known_browser_days * 86400


def known_browser(cookie: str, user: User) -> KnownBrowser | None:
    """The entry of `cookie` for `user`, if its signature is ours, it is younger than the
    known-browser days and it was written under the password `user` has now; else None
    (tampered, another account's, forgotten by a password reset, expired)."""
    stamp = _password_stamp(user)
    for entry in _entries(cookie):
        if entry["u"] == user.pk and constant_time_compare(entry["s"], stamp):
            return KnownBrowser(user_id=user.pk, browser_id=entry["b"])
    return None


def remember(cookie: str, user: User) -> str:
    """The cookie's new value once `user` has logged in in this browser: their entry first
    (its browser id kept while it is valid), then the others this browser already had."""
    known = known_browser(cookie, user)
    browser_id = known.browser_id if known else secrets.token_urlsafe(12)
    mine = {"u": user.pk, "b": browser_id, "s": _password_stamp(user), "t": int(time.time())}
    others = [entry for entry in _entries(cookie) if entry["u"] != user.pk]
    return signing.dumps([mine, *others][:MAX_ACCOUNTS], salt=_SALT, compress=True)


def _password_stamp(user: User) -> str:
    # Keyed (SECRET_KEY) and cut short: tells whether the password is still the one the
    # browser logged in with, and nothing about the password itself.
    return salted_hmac(_SALT, f"{user.pk}|{user.password}", algorithm="sha256").hexdigest()[:32]


def _entries(cookie: str) -> list[dict[str, Any]]:
    """The valid entries of a cookie ([] for anything that isn't one of ours)."""
    if not cookie or len(cookie) > _LONGEST_COOKIE:
        return []
    try:
        value = signing.loads(cookie, salt=_SALT, max_age=max_age())
    except (signing.BadSignature, ValueError):
        return []
    if not isinstance(value, list):
        return []
    oldest = time.time() - max_age()
    return [
        entry
        for entry in value[:MAX_ACCOUNTS]
        if isinstance(entry, dict)
        and isinstance(entry.get("u"), int)
        and isinstance(entry.get("b"), str)
        and isinstance(entry.get("s"), str)
        and isinstance(entry.get("t"), int)
        and entry["t"] > oldest
    ]
