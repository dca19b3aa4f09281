"""Helpers for the accounts tests (the personas and fixtures live in the root conftest.py)."""

from datetime import UTC, datetime
from typing import Any

from django.test import Client

from securemail.accounts.models import User
from tests.support import PASSWORD

NEW_PASSWORD = "Quartz-Heron-Lantern-77"


def log_in(client: Client, email: str, password: str = PASSWORD) -> Any:
    """POST the real login form (the `login` fixture skips it)."""
    return client.post("/accounts/login/", {"username": email, "password": password})


def is_logged_in_as(client: Client, user: User) -> bool:
    return client.session.get("_auth_user_id") == str(user.pk)


def at_a_window_start() -> Any:
    """The clock moved to the start of an hour, and ticking: every rate limit window (5,
    10, 15 minutes, an hour) starts there, so a test never straddles two of them."""
    import time_machine

    return time_machine.travel(datetime(2031, 3, 4, 9, 0, 1, tzinfo=UTC), tick=True)
