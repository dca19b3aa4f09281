"""Set-password links are rows of their own (issue 9): only the token's hash is kept, a
newer link replaces the older (the user manager's re-send and "Forgot your password?" say
"the old link stops working"), a second tab gets "already used", and the worker sweeps
links long expired."""

import hashlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from securemail.accounts.models import PasswordLink, User
from securemail.onboarding.tests.helpers import INVALID_LINK_TEXT, MAILBOX, finish_wizard
from securemail.ops import worker
from securemail.practices.tests.helpers import action_url, started_invitee
from tests.support import frozen_clock

pytestmark = pytest.mark.django_db

STRONG = "Plover-Quartz-9931"
OTHER = "Heron-Lantern-4477"
USED_TEXT = "It has already been used to set a password."


def _forgot(email: str) -> None:
    assert Client().post("/accounts/password/", {"email": email}).status_code == 302


def _link(email: str) -> str:
    return MAILBOX.link(email, "/accounts/password/")


def _open(link: str) -> tuple[Client, Any]:
    client = Client()
    return client, client.get(link, follow=True)


def _choose(client: Client, page: Any, password: str) -> Any:
    form_url = page.redirect_chain[-1][0]
    return client.post(form_url, {"new_password1": password, "new_password2": password})


def test_only_the_tokens_hash_is_kept(doctor: User) -> None:
    _forgot(doctor.email)
    token = _link(doctor.email).rstrip("/").rsplit("/", 1)[1]

    [row] = PasswordLink.objects.filter(user=doctor).values()
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in repr(row)
    assert row["purpose"] == PasswordLink.Purpose.RESET
    assert row["expires_at"] - row["created_at"] == timedelta(hours=24)


def test_asking_again_ends_the_older_link(doctor: User) -> None:
    _forgot(doctor.email)
    older = _link(doctor.email)
    _forgot(doctor.email)
    newer = _link(doctor.email)

    assert older != newer
    _, old_page = _open(older)
    assert old_page.status_code == 404
    assert INVALID_LINK_TEXT in old_page.content.decode()
    client, page = _open(newer)
    assert _choose(client, page, STRONG).status_code == 302
    doctor.refresh_from_db()
    assert doctor.check_password(STRONG)


def test_the_user_managers_resend_ends_the_older_set_password_link(
    login: Any, doctor: User
) -> None:
    email = "new.staff@brightsmiles.test"
    user, browser = started_invitee(doctor, email, "staff_my_practice")
    finish_wizard(browser)
    older = _link(email)

    assert login(doctor).post(action_url(user, "resend")).status_code == 302
    newer = _link(email)

    assert newer != older
    _, old_page = _open(older)
    assert old_page.status_code == 404
    assert INVALID_LINK_TEXT in old_page.content.decode()
    _, new_page = _open(newer)
    assert b"new_password1" in new_page.content


def test_a_second_tab_posting_after_the_first_is_told_the_link_was_used(doctor: User) -> None:
    _forgot(doctor.email)
    link = _link(doctor.email)
    first, first_page = _open(link)
    second, second_page = _open(link)

    assert _choose(first, first_page, STRONG).status_code == 302
    refused = _choose(second, second_page, OTHER)

    assert refused.status_code == 404
    assert INVALID_LINK_TEXT in refused.content.decode()
    assert USED_TEXT in refused.content.decode()
    assert b'href="/accounts/password/"' in refused.content
    doctor.refresh_from_db()
    assert doctor.check_password(STRONG)
    assert not doctor.check_password(OTHER)
    # Opened again, the used link says the same.
    _, again = _open(link)
    assert again.status_code == 404
    assert USED_TEXT in again.content.decode()


def test_the_worker_sweeps_links_a_week_past_their_expiry(
    tmp_path: Path, doctor: User, staff: User
) -> None:
    _forgot(doctor.email)
    _forgot(staff.email)
    browser, page = _open(_link(staff.email))
    assert _choose(browser, page, STRONG).status_code == 302
    later = timezone.now() + timedelta(hours=24)

    with frozen_clock(later + timedelta(days=6), tmp_path):
        _forgot(doctor.email)
        worker.periodic()
        # Expired less than a week ago, and fresh: kept.
        assert PasswordLink.objects.count() == 2
    with frozen_clock(later + timedelta(days=7, minutes=1), tmp_path):
        worker.periodic()
        [kept] = PasswordLink.objects.all()

    assert kept.user == doctor
    assert kept.expires_at > later + timedelta(days=6)
