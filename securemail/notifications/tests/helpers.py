"""Helpers for the notifications tests (fixtures live in the root conftest.py)."""

from typing import Any

from django.db import transaction

from conftest import free_port
from securemail.accounts.emails import set_password_link
from securemail.accounts.models import User
from securemail.notifications.models import OutboxEmail
from securemail.notifications.services import queue_email


def queue_password_email(user: User) -> tuple[OutboxEmail, str]:
    """Queue a real email (the set-password one) as a service would; returns it and its link."""
    link = set_password_link(user)
    with transaction.atomic():
        email = queue_email(
            to=user.email,
            template="accounts/emails/set_password",
            context={"user": user, "link": link, "first_time": False},
            kind="set_password",
            recipient_user_id=user.pk,
        )
    return email, link


def smtp_mailers(port: int) -> dict[str, dict[str, Any]]:
    return {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
        }
    }


def unreachable_mailers() -> dict[str, dict[str, Any]]:
    """An SMTP mailer pointed at a loopback port nothing listens on."""
    return smtp_mailers(free_port())
