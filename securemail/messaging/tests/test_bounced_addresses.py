"""A message to an address that bounced (issue 4, bad input): the receiving server's
permanent refusal is remembered, not retried, shown on the delivery slip, and a new
conversation to that address is refused with a clear message until mail gets through."""

import uuid
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from securemail.accounts.models import User
from securemail.messaging.models import Message
from securemail.messaging.tests.helpers import BODY, SUBJECT, as_user, compose, send
from securemail.notifications.models import BouncedAddress, OutboxEmail
from securemail.notifications.services import deliver_due
from securemail.notifications.tests.helpers import queue_password_email

pytestmark = [pytest.mark.django_db, pytest.mark.smtp]

NO_SUCH_USER = "550 5.1.1 <pat.smith@mail.test>: Recipient address rejected: User unknown"


def _bounce(smtp_server: Any, user: User) -> None:
    """Send `user` a notification that their mail server refuses for good."""
    smtp_server.refuse[user.email] = NO_SUCH_USER
    queue_password_email(user)
    deliver_due()


def test_a_permanent_refusal_is_remembered_and_not_retried(patient: User, smtp_server: Any) -> None:
    smtp_server.refuse[patient.email] = NO_SUCH_USER
    email, _ = queue_password_email(patient)

    assert deliver_due() == 0

    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.BOUNCED
    assert email.attempts == 1
    assert email.last_error == "bounced (550)"
    # The link inside is dropped like that of any email that won't be sent.
    assert email.sealed_payload is None
    bounce = BouncedAddress.objects.get(email=patient.email)
    assert bounce.smtp_code == 550
    # A day later nothing has been tried again.
    with time_machine.travel(timezone.now() + timedelta(days=1)):
        assert deliver_due() == 0
    email.refresh_from_db()
    assert email.attempts == 1
    assert smtp_server.messages == []


def test_a_temporary_refusal_is_retried_and_not_a_bounce(patient: User, smtp_server: Any) -> None:
    smtp_server.refuse[patient.email] = "450 4.2.1 Mailbox busy, try later"
    email, _ = queue_password_email(patient)

    assert deliver_due() == 0

    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.RETRY
    assert not BouncedAddress.objects.exists()
    del smtp_server.refuse[patient.email]
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        assert deliver_due() == 1
    smtp_server.wait_for(patient.email)


def test_composing_to_a_bounced_address_explains_and_sends_nothing(
    login: Any, doctor: User, patient: User, smtp_server: Any
) -> None:
    _bounce(smtp_server, patient)
    queued_before = OutboxEmail.objects.count()

    response = compose(login(doctor), to=patient.email)

    assert response.status_code == 400
    page = response.content.decode()
    assert f"Email to {patient.email} bounced on" in page
    assert "Check it for typos, or ask the person for another address." in page
    # What was typed is kept for the correction.
    assert SUBJECT in page
    assert BODY in page
    assert not Message.objects.exists()
    assert OutboxEmail.objects.count() == queued_before


def test_a_bounced_address_among_several_stops_the_whole_send(
    login: Any, doctor: User, staff: User, patient: User, smtp_server: Any
) -> None:
    _bounce(smtp_server, patient)

    response = compose(login(doctor), to=f"{staff.email}, {patient.email}")

    assert response.status_code == 400
    assert f"Email to {patient.email} bounced on" in response.content.decode()
    assert not Message.objects.exists()


def test_mail_that_gets_through_again_clears_the_bounce(
    login: Any, doctor: User, patient: User, smtp_server: Any
) -> None:
    _bounce(smtp_server, patient)
    # The patient's mailbox works again (they fixed it with their provider).
    del smtp_server.refuse[patient.email]
    queue_password_email(patient)

    assert deliver_due() == 1

    assert not BouncedAddress.objects.exists()
    response = compose(login(doctor), to=patient.email)
    assert response.status_code == 302
    assert Message.objects.count() == 1


def test_the_delivery_slip_shows_the_bounce_and_replies_still_work(
    login: Any, client: Any, doctor: User, patient: User, smtp_server: Any
) -> None:
    message = send(doctor, patient)
    smtp_server.refuse[patient.email] = NO_SUCH_USER
    deliver_due()

    page = login(doctor).get(f"/m/{message.pk}/").content.decode()

    assert '<strong class="error">bounced ' in page
    # The conversation goes on: the patient can still log in, read and reply.
    reply = as_user(client, patient).post(
        f"/m/{message.pk}/reply/", {"body": "Got it.", "client_token": str(uuid.uuid4())}
    )
    assert reply.status_code == 302
    assert message.thread_replies.count() == 1


def test_the_address_lookup_warns_as_soon_as_the_field_is_left(
    login: Any, doctor: User, staff: User, patient: User, smtp_server: Any
) -> None:
    _bounce(smtp_server, patient)

    response = login(doctor).post(
        "/compose/lookup/", {"to": f"{staff.email}, {patient.email}", "cc": ""}
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert f"Email to <strong>{patient.email}</strong> bounced" in page
    assert f"<strong>{staff.email}</strong> bounced" not in page
