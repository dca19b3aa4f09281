"""Notification emails carry no PHI (SPEC §6): neither what is queued in the outbox nor what
reaches the SMTP server holds a subject or a body."""

import uuid
from typing import Any

import pytest

from securemail.accounts.models import User
from securemail.messaging.models import Message
from securemail.messaging.tests.helpers import (
    BODY,
    PHI_WORDS,
    SUBJECT,
    compose,
    outbox_payloads,
    send,
)
from securemail.notifications.models import OutboxEmail
from securemail.notifications.services import deliver_due
from tests.support import client_token, email_html, email_text

pytestmark = pytest.mark.django_db

REPLY = "Swelling under the tongue is worse since Tuesday; the keratosis looks raised."
REPLY_WORDS = ["Swelling under the tongue", "looks raised"]


def _phi_in(text: str) -> list[str]:
    words = [SUBJECT, BODY, REPLY, *PHI_WORDS, *REPLY_WORDS]
    return [w for w in words if w.lower() in text.lower()]


@pytest.mark.smtp
def test_no_email_of_a_send_and_its_replies_holds_the_subject_or_body(
    login: Any,
    client: Any,
    doctor: User,
    staff: User,
    other_doctor: User,
    smtp_server: Any,
) -> None:
    # A new patient (welcome email), known colleagues in two practices (To and Cc),
    # a reply, and a reply-to-all by the sender.
    assert compose(login(doctor), to="new.patient@mail.test", role="patient").status_code == 302
    message = send(doctor, staff, other_doctor)
    client.force_login(staff, backend="securemail.accounts.backends.EmailBackend")
    page = client.get(f"/m/{message.pk}/")
    response = client.post(
        f"/m/{message.pk}/reply/", {"body": REPLY, "client_token": client_token(page)}
    )
    assert response.status_code == 302
    client.force_login(doctor, backend="securemail.accounts.backends.EmailBackend")
    response = client.post(
        f"/m/{message.pk}/reply/", {"body": REPLY, "client_token": str(uuid.uuid4())}
    )
    assert response.status_code == 302
    assert Message.objects.count() == 4

    # What the outbox holds, decrypted.
    queued = outbox_payloads()
    assert sorted(email.kind for email, _ in queued) == [
        "new_message",  # to staff
        "new_message",  # to other_doctor
        "new_message",  # staff's reply, to the doctor
        "new_message",  # the doctor's reply, to staff
        "new_message",  # the doctor's reply, to other_doctor
        "welcome",
    ]
    for email, payload in queued:
        for part in ("subject", "text", "html"):
            assert _phi_in(payload[part]) == [], (email.kind, email.to_email, part)
        # Each one still says who wrote and how to read it.
        assert "Dr. Jane Roe" in payload["subject"] or "Sam Front" in payload["subject"]
        assert "http" in payload["text"]

    # What the SMTP server receives.
    assert deliver_due() == len(queued)
    received = smtp_server.messages
    assert len(received) == len(queued)
    for mail in received:
        assert _phi_in(str(mail["Subject"])) == []
        assert _phi_in(email_text(mail)) == []
        assert _phi_in(email_html(mail)) == []
        assert _phi_in(mail.as_string()) == []
    assert {str(m["To"]) for m in received} == {
        "new.patient@mail.test",
        staff.email,
        other_doctor.email,
        doctor.email,
    }
    # Once sent, the outbox keeps no content at all.
    assert not OutboxEmail.objects.filter(sealed_payload__isnull=False).exists()
