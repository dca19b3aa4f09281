"""Helpers for the user manager's tests: the page's rows, people in each state, and the
audit entries the manager's actions leave."""

import html
import json
import re
from typing import Any

from django.test import Client
from django.utils import timezone

from securemail.accounts.models import User
from securemail.audit.models import AuditEvent
from securemail.onboarding.models import Invitation, RecipientRole
from securemail.onboarding.tests.helpers import invite, start

PEOPLE = "/practice/people/"


def _words(markup: str) -> str:
    # Inline tags join the words around them; every other tag separates them.
    joined = re.sub(r"</?(?:strong|em|a|span|code)\b[^>]*>", "", markup)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", joined)).split())


def text(response: Any) -> str:
    """What the page says: its text without tags, entities decoded, spaces collapsed."""
    return _words(response.content.decode())


def row(response: Any, user: User) -> str:
    """The page's row for `user`, as text ("" when the page doesn't list them)."""
    match = re.search(rf'<tr id="person-{user.pk}">(.*?)</tr>', response.content.decode(), re.S)
    return _words(match.group(1)) if match else ""


def listed_ids(response: Any) -> set[int]:
    return {int(pk) for pk in re.findall(r'<tr id="person-(\d+)">', response.content.decode())}


def action_url(user: User, action: str) -> str:
    return f"{PEOPLE}{user.pk}/{action}/"


def invitee(inviter: User, email: str, role: RecipientRole | str) -> tuple[User, str]:
    """Invite `email`; the invited account and the path of the link it was emailed."""
    invitation, join_path = invite(inviter, email, role)
    return invitation.invitee, join_path


def started_invitee(inviter: User, email: str, role: RecipientRole | str) -> tuple[User, Client]:
    """Invite `email` and press "Start" on its link: the account and that browser."""
    user, join_path = invitee(inviter, email, role)
    client = start(join_path)
    user.refresh_from_db()
    return user, client


def lock(user: User) -> User:
    User.objects.filter(pk=user.pk).update(locked_at=timezone.now(), failed_logins=5)
    user.refresh_from_db()
    return user


def open_invitation(user: User) -> Invitation:
    return Invitation.objects.get(invitee=user, used_at__isnull=True)


def entries(event: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(event=event).order_by("id"))


def managers_of(practice_id: int) -> list[int]:
    return list(
        User.objects.filter(practice_id=practice_id, is_practice_manager=True).values_list(
            "pk", flat=True
        )
    )


def no_address_in(entry: AuditEvent, *addresses: str) -> bool:
    """Whether an audit entry holds none of `addresses` (the log keeps ids only)."""
    dumped = json.dumps([entry.target, entry.data]).lower()
    return not any(address.lower() in dumped for address in addresses)
