import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

# Where the session remembers when its idle timer was last restarted (epoch seconds).
REFRESHED_KEY = "_securemail_refreshed"


class IdleSessionMiddleware:
    """Sessions end after SESSION_COOKIE_AGE (30 minutes) without a request (SPEC §6).

    Saving the session on every request (SESSION_SAVE_EVERY_REQUEST) would restart the
    timer exactly, for the price of a database write on every page. Instead the session is
    saved (its expiry moved to now + 30 minutes) at most once per REFRESH_SECONDS: a session
    therefore ends between 30 minutes minus REFRESH_SECONDS and 30 minutes after the last
    request, never later. Goes right after SessionMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.every = settings.SECUREMAIL_SESSION_REFRESH_SECONDS

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        if session is not None and session.session_key:
            refreshed = session.get(REFRESHED_KEY)  # loads it: an unknown key becomes None
            now = int(time.time())
            fresh = isinstance(refreshed, int) and 0 <= now - refreshed < self.every
            if session.session_key and not fresh and session.keys():
                # Marks the session modified: SessionMiddleware saves it with a new expiry.
                session[REFRESHED_KEY] = now
        return self.get_response(request)


def session_started(request: HttpRequest | None, **_signal: object) -> None:
    """Logging in saves the session (its 30 minutes start then): the next minute's requests
    need no refresh."""
    session = getattr(request, "session", None)
    if session is not None:
        session[REFRESHED_KEY] = int(time.time())
