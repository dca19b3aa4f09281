"""Helpers for the notifications tests (fixtures live in the root conftest.py)."""

from django.db import transaction

from securemail.accounts.models import PasswordLink, User
from securemail.accounts.services import issue_password_link
from securemail.notifications.models import OutboxEmail
from securemail.notifications.services import queue_email


def queue_password_email(user: User) -> tuple[OutboxEmail, str]:
    """Queue a real email (the set-password one) as a service would; returns it and its link."""
    link = issue_password_link(user=user, purpose=PasswordLink.Purpose.RESET)
    with transaction.atomic():
        email = queue_email(
            to=user.email,
            template="accounts/emails/set_password",
            context={"user": user, "link": link, "first_time": False},
            kind="set_password",
            recipient_user_id=user.pk,
        )
    return email, link
