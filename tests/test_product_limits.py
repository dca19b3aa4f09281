"""Product limits have one source (settings, read through securemail.core.limits): change a
setting and what the product does and what its texts say change with it."""

import uuid
from typing import Any

import pytest
from django.test import Client

from securemail.accounts.models import User
from securemail.audit import services as audit
from securemail.onboarding.tests.helpers import (
    MAILBOX,
    PHONE_INBOX,
    invite,
    post_you,
    send_code,
    start,
)

pytestmark = pytest.mark.django_db


def test_the_code_lifetime_in_texts_emails_and_pages_follows_the_setting(
    settings: Any, doctor: User
) -> None:
    settings.SECUREMAIL_CODE_MINUTES = 15
    _, join_path = invite(doctor, "new.staff@example.test", "staff_my_practice")
    client = start(join_path)
    post_you(client)

    assert send_code(client, "sms").status_code == 302
    assert send_code(client, "email").status_code == 302
    page = client.get("/register/verify/")

    sms = MAILBOX.last_to(PHONE_INBOX).text
    email = MAILBOX.last_to("new.staff@example.test")
    assert "It expires in 15 minutes." in sms
    assert "expires in 15 minutes" in email.text
    assert "expires in 15 minutes" in email.html
    assert "valid for 15 minutes" in page.content.decode()
    assert "10 minutes" not in sms + email.text + page.content.decode()


def test_the_longest_expiry_bounds_the_compose_choices_and_their_message(
    settings: Any, login: Any, doctor: User, patient: User
) -> None:
    settings.SECUREMAIL_MAX_EXPIRY_DAYS = 14
    client = login(doctor)

    page = client.get("/compose/").content.decode()
    refused = client.post(
        "/compose/",
        {
            "to": patient.email,
            "subject": "Recall",
            "body": "Due",
            "expiry_days": "20",
            "client_token": str(uuid.uuid4()),
        },
    )

    assert 'value="14"' in page
    assert 'value="15"' not in page
    assert "At most 14 days" in page
    assert refused.status_code == 400
    assert "Choose from 1 to 14 days" in refused.content.decode()


def test_the_recipient_limit_bounds_the_look_up_and_the_compose_form(
    settings: Any, login: Any, doctor: User
) -> None:
    settings.SECUREMAIL_MAX_RECIPIENTS = 3
    client = login(doctor)
    four = ", ".join(f"p{n}@example.test" for n in range(4))

    looked_up = client.post("/compose/lookup/", {"to": four})
    posted = client.post(
        "/compose/",
        {"to": four, "subject": "Hi", "body": "Hi", "client_token": str(uuid.uuid4())},
    )

    assert looked_up.status_code == 400
    assert "Send to at most 3 people at once." in looked_up.content.decode()
    assert posted.status_code == 400
    assert "Send to at most 3 people at once." in posted.content.decode()


def test_the_failed_login_limit_locks_after_the_set_number(settings: Any, doctor: User) -> None:
    settings.SECUREMAIL_MAX_FAILED_LOGINS = 2
    client = Client()

    first = client.post("/accounts/login/", {"username": doctor.email, "password": "wrong 1"})
    client.post("/accounts/login/", {"username": doctor.email, "password": "wrong 2"})

    doctor.refresh_from_db()
    assert doctor.locked_at is not None
    assert "After 2 wrong passwords an account is locked" in first.content.decode()


def test_the_audit_log_accepts_only_its_vocabulary(doctor: User) -> None:
    with pytest.raises(ValueError, match="not a valid Event"):
        audit.record("messaging:mesage:send", actor_id=doctor.pk)  # type: ignore[arg-type]
