"""Helpers for the accounts tests (the personas and fixtures live in the root conftest.py)."""

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
