"""The "Forgot your password?" link (SPEC §3, §6): the same answer for every address, only
for accounts that finished registration, and it unlocks a locked account."""

import re
from typing import Any

import pytest
from django.test import Client

from securemail.accounts.models import User
from securemail.accounts.tests.helpers import (
    NEW_PASSWORD,
    is_logged_in_as,
    log_in,
)
from securemail.audit.models import AuditEvent
from securemail.notifications.models import OutboxEmail
from securemail.notifications.services import deliver_due
from tests.support import PASSWORD, email_html, email_text, links_in, path_of

pytestmark = pytest.mark.django_db


def _ask(client: Client, email: str) -> Any:
    return client.post("/accounts/password/", {"email": email})


def test_same_answer_whether_or_not_the_address_has_an_account(doctor: User) -> None:
    known = _ask(Client(), doctor.email)
    unknown = _ask(Client(), "nobody@nowhere.test")

    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == "/accounts/password/sent/"
    known_page = Client().get(known["Location"])
    unknown_page = Client().get(unknown["Location"])
    assert known_page.content == unknown_page.content
    assert b"Check your email" in known_page.content
    # Only the real account gets an email.
    [email] = OutboxEmail.objects.all()
    assert email.to_email == doctor.email
    assert email.kind == "set_password"
    event = AuditEvent.objects.get(event="accounts:password:link_requested")
    assert event.target == f"user:{doctor.pk}"


def test_address_is_matched_without_case(doctor: User) -> None:
    _ask(Client(), "JANE.Roe@brightsmiles.TEST")

    [email] = OutboxEmail.objects.all()
    assert email.to_email == doctor.email


@pytest.mark.parametrize("status", [User.Status.INVITED, User.Status.STARTED])
def test_invited_accounts_cannot_get_a_password_link(status: str, doctor: User) -> None:
    invitee = User.objects.create_user(
        "ivy.invited@example.test", kind=User.Kind.PATIENT, status=status, invited_by=doctor
    )

    response = _ask(Client(), invitee.email)

    # The same answer as for anyone, and nothing sent.
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/sent/"
    assert not OutboxEmail.objects.filter(kind="set_password").exists()
    assert not AuditEvent.objects.filter(event="accounts:password:link_requested").exists()


def test_malformed_address_gets_a_clear_message(doctor: User) -> None:
    response = _ask(Client(), "jane.roe@")

    assert response.status_code == 200
    assert b"Enter a valid email address." in response.content
    assert OutboxEmail.objects.count() == 0


@pytest.mark.smtp
def test_password_link_email_unlocks_a_locked_account(
    client: Client, doctor: User, smtp_server: Any
) -> None:
    for _ in range(5):
        log_in(client, doctor.email, "not the password 123")
    doctor.refresh_from_db()
    assert doctor.locked_at is not None

    assert _ask(client, doctor.email).status_code == 302
    assert deliver_due() == 1
    [mail] = smtp_server.wait_for(doctor.email)
    assert mail["Subject"] == "Your SecureMail password link"
    [link] = [
        u for u in links_in(email_text(mail)) if re.search(r"/accounts/password/[^/]+/[^/]+/$", u)
    ]
    assert link in email_html(mail)

    # Opening the link moves its token into the session; the POST spends it.
    response = client.get(path_of(link))
    assert response.status_code == 302
    form_url = response["Location"]
    doctor.refresh_from_db()
    assert doctor.locked_at is not None
    response = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"

    doctor.refresh_from_db()
    assert doctor.locked_at is None
    assert doctor.failed_logins == 0
    assert AuditEvent.objects.filter(event="accounts:password:set", actor=doctor).exists()
    assert log_in(Client(), doctor.email, PASSWORD).status_code == 200
    fresh = Client()
    assert log_in(fresh, doctor.email, NEW_PASSWORD).status_code == 302
    assert is_logged_in_as(fresh, doctor)
    # The link worked once.
    again = Client().get(path_of(link), follow=True)
    assert b"no longer valid" in again.content
