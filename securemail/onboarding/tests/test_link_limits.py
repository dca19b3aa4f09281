"""Emailed links are limited per client address (issue 9: registration links had no limit
at all): someone trying tokens gets a clear 429 page, never a 500, while other addresses
and a link's real holder elsewhere carry on."""

import secrets
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from securemail.accounts.models import User
from securemail.core.ratelimit import parse_rule
from securemail.onboarding.tests.helpers import INVALID_LINK_TEXT, MAILBOX, invite, register

pytestmark = pytest.mark.django_db

GUESSER = "192.0.2.66"
TOO_MANY = "Too many links were opened from your network in a short time."


def _limit(name: str) -> int:
    return parse_rule(settings.SECUREMAIL_RATE_LIMITS[name])[0]


def _guess(path: str, method: str = "get") -> Any:
    return getattr(Client(), method)(path, REMOTE_ADDR=GUESSER)


def test_a_registration_link_guesser_gets_a_429_page(doctor: User) -> None:
    _, real_link = invite(doctor, "new.patient@example.test", "patient")
    limit = _limit("join_link")

    answers = [
        _guess(f"/join/{secrets.token_urlsafe(32)}/", "post" if n % 2 else "get").status_code
        for n in range(limit)
    ]
    refused = _guess(f"/join/{secrets.token_urlsafe(32)}/")

    assert answers == [404] * limit
    assert refused.status_code == 429
    page = refused.content.decode()
    assert TOO_MANY in page
    assert INVALID_LINK_TEXT not in page
    assert refused["Referrer-Policy"] == "no-referrer"
    # Refused from that address even with a real link; the invitee elsewhere is not.
    assert _guess(real_link).status_code == 429
    assert Client().get(real_link, REMOTE_ADDR="198.51.100.20").status_code == 200


def test_a_set_password_link_guesser_gets_a_429_page(doctor: User) -> None:
    register(doctor, "new.patient@example.test", "patient")
    real_link = MAILBOX.link("new.patient@example.test", "/accounts/password/")
    uid = urlsafe_base64_encode(force_bytes(doctor.pk))
    limit = _limit("set_password_link")

    answers = [
        _guess(f"/accounts/password/{uid}/{secrets.token_urlsafe(32)}/").status_code
        for _ in range(limit)
    ]
    refused = _guess(f"/accounts/password/{uid}/{secrets.token_urlsafe(32)}/")
    form = _guess(f"/accounts/password/{uid}/set-password/", "post")

    assert answers == [404] * limit
    assert refused.status_code == form.status_code == 429
    assert TOO_MANY in refused.content.decode()
    assert _guess(real_link).status_code == 429
    opened = Client().get(real_link, REMOTE_ADDR="198.51.100.20", follow=True)
    assert b"new_password1" in opened.content
