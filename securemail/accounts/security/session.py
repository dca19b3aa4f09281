"""What the session remembers between the steps of a login, a passkey ceremony and a
re-authentication. Server-side session data only: nothing here is in a URL, and a second
step started in one browser can't be finished in another (the other has no such session).
"""

import base64
import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.auth import login as auth_login
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from securemail.accounts import devices
from securemail.accounts.models import User
from securemail.accounts.services import is_known_browser, remember_browser
from securemail.core.limits import limits

BACKEND = "securemail.accounts.backends.EmailBackend"
# The login waiting for its second step: {"user", "at", "next", "hash"}.
PENDING_KEY = "_securemail_second_step"
# When this session last proved who it is (a login or a re-authentication), epoch seconds.
PROVED_AT_KEY = "_securemail_proved_at"
# The passkey challenge waiting for its answer: {"challenge", "purpose", "user", "at"}.
CHALLENGE_KEY = "_securemail_passkey_challenge"
# Set once this session is known to have two-step login (the practice's policy check).
TWO_STEP_SEEN_KEY = "_securemail_two_step_seen"


@dataclass(frozen=True)
class Pending:
    user: User
    next_url: str
    # The browser logged in to this account before (accounts.devices): past the lock.
    known_browser: bool = False


def begin_second_step(
    request: HttpRequest, *, user: User, next_url: str, known_browser: bool = False
) -> None:
    """The password was right and the account has two-step login: remember the login as
    waiting (not logged in). A new session key, so a session id planted before cannot
    follow it."""
    request.session.cycle_key()
    request.session.pop(CHALLENGE_KEY, None)
    request.session[PENDING_KEY] = {
        "user": user.pk,
        "at": int(time.time()),
        "next": next_url,
        # The password state it was started with: a password changed since ends it.
        "hash": user.get_session_auth_hash(),
        "known": known_browser,
    }


def pending_second_step(request: HttpRequest) -> Pending | None:
    """The login waiting for its second step in this session, while it is recent (None
    otherwise: never started here, finished, expired, or the account changed since)."""
    data = request.session.get(PENDING_KEY)
    if not isinstance(data, dict):
        return None
    age = time.time() - float(data.get("at", 0))
    if not 0 <= age < limits().second_step_minutes * 60:
        return None
    user_id = data.get("user")
    if not isinstance(user_id, int):
        return None
    user = User.objects.select_related("practice").filter(pk=user_id).first()
    if user is None or user.get_session_auth_hash() != data.get("hash"):
        return None
    return Pending(
        user=user, next_url=str(data.get("next") or "/"), known_browser=data.get("known") is True
    )


def end_second_step(request: HttpRequest) -> None:
    request.session.pop(PENDING_KEY, None)
    request.session.pop(CHALLENGE_KEY, None)


def finish_login(request: HttpRequest, user: User) -> None:
    """Log the session in (Django's login: a new session key, the user_logged_in signal,
    which stamps it as just proved)."""
    end_second_step(request)
    auth_login(request, user, backend=BACKEND)


def mark_proved(request: HttpRequest) -> None:
    request.session[PROVED_AT_KEY] = int(time.time())


def stamp_login(request: HttpRequest | None = None, **_signal: object) -> None:
    """user_logged_in: a login is a proof of identity (so is Django's force_login in tests)."""
    session = getattr(request, "session", None)
    if session is not None:
        session[PROVED_AT_KEY] = int(time.time())


def recently_proved(request: HttpRequest) -> bool:
    """Whether this session logged in, or re-authenticated, within the last
    limits().fresh_login_minutes."""
    proved = request.session.get(PROVED_AT_KEY)
    if not isinstance(proved, int) or BACKEND_SESSION_KEY not in request.session:
        return False
    age = time.time() - proved
    return 0 <= age < limits().fresh_login_minutes * 60


# --- passkey challenges ---------------------------------------------------------------------


class Purpose:
    SIGN_IN = "sign_in"
    SECOND_STEP = "second_step"
    REAUTHENTICATE = "reauthenticate"
    REGISTER = "register"


def remember_challenge(
    request: HttpRequest, *, challenge: bytes, purpose: str, user_id: int | None
) -> None:
    request.session[CHALLENGE_KEY] = {
        "challenge": base64.b64encode(challenge).decode(),
        "purpose": purpose,
        "user": user_id,
        "at": int(time.time()),
    }


def take_challenge(request: HttpRequest, *, purpose: str, user_id: int | None) -> bytes | None:
    """The challenge this session was given for `purpose` (and this account), once: a
    response is checked against it a single time. None if there is none (or it is stale)."""
    data = request.session.pop(CHALLENGE_KEY, None)
    if not isinstance(data, dict) or data.get("purpose") != purpose:
        return None
    if data.get("user") != user_id:
        return None
    if not 0 <= time.time() - float(data.get("at", 0)) < 300:
        return None
    return base64.b64decode(str(data["challenge"]))


def device_cookie(request: HttpRequest) -> str:
    """The browser's device cookie (accounts.devices), "" when it has none."""
    return request.COOKIES.get(devices.COOKIE_NAME, "")


def browser_known_to(request: HttpRequest, user: User) -> bool:
    return is_known_browser(user=user, device=device_cookie(request))


def keep_browser_known(request: HttpRequest, response: HttpResponse, user: User) -> None:
    """After a login: the browser's device cookie names this account too (accounts.devices).
    Sent back to the login pages only, never readable by scripts, Secure with DEBUG off,
    kept for the known-browser days."""
    response.set_cookie(
        devices.COOKIE_NAME,
        remember_browser(user=user, device=device_cookie(request)),
        max_age=devices.max_age(),
        path=reverse("accounts:login"),
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
