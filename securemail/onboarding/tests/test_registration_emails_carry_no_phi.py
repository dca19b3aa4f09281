"""No email or text sent during registration carries the waiting message's subject or body,
whatever the role and whichever way the code is sent (SPEC §6). Checked on what a real SMTP
server on loopback received, and in the audit log and the outbox's plain columns."""

from typing import Any

import pytest
from django.test import Client

from securemail.accounts.models import User
from securemail.audit.models import AuditEvent
from securemail.notifications.models import OutboxEmail
from securemail.onboarding.tests.helpers import (
    PHONE_INBOX,
    Mailbox,
    answer_step,
    compose,
    enter_code,
    finish_wizard,
    send_code,
    start,
)

pytestmark = pytest.mark.django_db

SUBJECT = "Biopsy result for Quentin Zyxwvut"
BODY = "Histology shows melanoma, Breslow 1.2 mm. Xylophone-7731 follow-up in clinic."
PHI = [SUBJECT, BODY, "Zyxwvut", "melanoma", "Breslow", "Xylophone-7731", "Histology"]

ROLES = [
    "doctor_my_practice",
    "staff_my_practice",
    "doctor_other_practice",
    "staff_other_practice",
    "patient",
]


@pytest.mark.smtp
@pytest.mark.parametrize("role", ROLES)
def test_no_email_sent_during_registration_carries_the_message(
    role: str, doctor: User, login: Any, smtp_server: Any
) -> None:
    mailbox = Mailbox(smtp_server)
    email = f"new.{role}@example.test"
    sent = compose(login(doctor), to=email, subject=SUBJECT, body=BODY, role=role)
    assert sent.status_code == 302

    # Every email registration can send: welcome, a fresh link, codes by text, call and
    # email, the set-password email, and a second set-password email asked for later.
    first_link = mailbox.link(email, "/join/")
    assert Client().post("/register/link/", {"email": email}).status_code == 200
    assert mailbox.link(email, "/join/") != first_link
    client = start(mailbox.link(email, "/join/"))
    response = client.get("/register/")
    while not response["Location"].endswith("/register/verify/"):
        response = answer_step(client, response["Location"], mailbox)
    for channel in ("sms", "voice", "email"):
        assert send_code(client, channel).status_code == 302
    assert enter_code(client, mailbox.code(email)).status_code == 302
    finish_wizard(client, mailbox)
    assert User.objects.get(email=email).status == User.Status.REGISTERED
    assert Client().post("/register/link/", {"email": email}).status_code == 200

    received = mailbox.all()
    to_invitee = [m for m in received if email in m.to]
    by_phone = [m for m in received if PHONE_INBOX in m.to]
    assert [m.subject.split(" ")[0] for m in to_invitee] == [
        "Dr.",
        "Reminder:",
        "Your",
        "Set",
        "Set",
    ]
    assert [m.subject.split(" ")[0] for m in by_phone] == ["SMS", "Voice"]
    for message in received:
        for secret in PHI:
            assert secret not in message.everything, (message.to, message.subject)
    for row in OutboxEmail.objects.all():
        for secret in PHI:
            assert secret not in f"{row.to_email} {row.kind} {row.last_error}"
    for event in AuditEvent.objects.all():
        for secret in PHI:
            assert secret not in f"{event.event} {event.target} {event.data}"
