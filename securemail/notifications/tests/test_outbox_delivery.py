"""The outbox (STYLE: pretix's mail outbox): emails are written with the transaction that
caused them, delivered through SMTP afterwards, retried, and wiped once sent."""

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core import mail
from django.db import transaction
from django.utils import timezone

from securemail.accounts.models import User
from securemail.messaging import services as messaging
from securemail.notifications.models import OutboxEmail
from securemail.notifications.services import RETRY_DELAYS, deliver_due
from securemail.notifications.tests.helpers import queue_password_email
from securemail.onboarding.models import Invitation, RecipientRole
from tests.support import email_html, email_text, unreachable_mailers

pytestmark = pytest.mark.django_db


@pytest.mark.smtp
def test_delivered_email_is_marked_sent_and_its_content_wiped(
    doctor: User, smtp_server: Any
) -> None:
    email, link = queue_password_email(doctor)
    assert email.status == OutboxEmail.Status.QUEUED
    assert email.sealed_payload is not None

    assert deliver_due() == 1

    [received] = smtp_server.wait_for(doctor.email)
    assert received["Subject"] == "Your SecureMail password link"
    assert received["From"] == django_settings.DEFAULT_FROM_EMAIL
    assert received["Auto-Submitted"] == "auto-generated"
    assert link in email_text(received)
    assert link in email_html(received)
    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.SENT
    assert email.sent_at is not None
    assert email.attempts == 1
    assert email.last_error == ""
    # The link inside must not outlive delivery in the database.
    assert email.sealed_payload is None
    assert email.wrapped_key is None

    # Nothing is sent twice.
    assert deliver_due() == 0
    assert len(smtp_server.messages) == 1


def test_unreachable_smtp_server_means_retry_later_then_failed(doctor: User, settings: Any) -> None:
    settings.MAILERS = unreachable_mailers()
    email, _ = queue_password_email(doctor)

    with time_machine.travel(timezone.now(), tick=False) as clock:
        assert deliver_due() == 0
        email.refresh_from_db()
        assert email.status == OutboxEmail.Status.RETRY
        assert email.attempts == 1
        assert email.next_attempt_at == timezone.now() + timedelta(seconds=RETRY_DELAYS[0])
        assert email.last_error == "ConnectionRefusedError"
        assert email.sealed_payload is not None

        # Not due yet: the worker leaves it alone.
        assert deliver_due() == 0
        email.refresh_from_db()
        assert email.attempts == 1

        previous = email.next_attempt_at
        for attempt, delay in enumerate(RETRY_DELAYS[1:], start=2):
            clock.move_to(email.next_attempt_at)
            assert deliver_due() == 0
            email.refresh_from_db()
            assert email.status == OutboxEmail.Status.RETRY
            assert email.attempts == attempt
            assert email.next_attempt_at == timezone.now() + timedelta(seconds=delay)
            assert email.next_attempt_at > previous
            previous = email.next_attempt_at

        # The last retry fails too: the email is given up, and its content dropped.
        clock.move_to(email.next_attempt_at)
        assert deliver_due() == 0
        email.refresh_from_db()
        assert email.status == OutboxEmail.Status.FAILED
        assert email.attempts == len(RETRY_DELAYS) + 1
        assert email.sealed_payload is None
        assert email.wrapped_key is None

        clock.shift(timedelta(days=7))
        assert deliver_due() == 0
        email.refresh_from_db()
        assert email.attempts == len(RETRY_DELAYS) + 1


@pytest.mark.smtp
def test_email_waiting_to_retry_goes_out_once_the_server_is_back(
    doctor: User, smtp_server: Any, settings: Any
) -> None:
    working = django_settings.MAILERS
    settings.MAILERS = unreachable_mailers()
    email, _ = queue_password_email(doctor)

    with time_machine.travel(timezone.now(), tick=False) as clock:
        assert deliver_due() == 0
        settings.MAILERS = working
        clock.shift(timedelta(seconds=RETRY_DELAYS[0]))
        assert deliver_due() == 1

    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.SENT
    assert email.attempts == 2
    assert len(smtp_server.wait_for(doctor.email)) == 1


def test_email_queued_in_a_rolled_back_transaction_never_exists(doctor: User) -> None:
    def fail_after_queueing() -> None:
        with transaction.atomic():
            queue_password_email(doctor)
            raise RuntimeError("the caller failed after queueing")

    with pytest.raises(RuntimeError):
        fail_after_queueing()

    assert OutboxEmail.objects.count() == 0
    assert deliver_due() == 0
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)
def test_failed_send_leaves_no_welcome_email_behind(doctor: User) -> None:
    # The first address is invited (its welcome email queued), then the second fails.
    recipients = [
        messaging.RecipientSpec(email="new.patient@mail.test", role=RecipientRole.PATIENT),
        messaging.RecipientSpec(email=doctor.email),
    ]

    with pytest.raises(messaging.MessagingError, match="to yourself"):
        messaging.send_message(sender=doctor, recipients=recipients, subject="Hi", body="Hello")

    assert OutboxEmail.objects.count() == 0
    assert not User.objects.filter(email="new.patient@mail.test").exists()
    assert Invitation.objects.count() == 0
    assert deliver_due() == 0
    assert mail.outbox == []


@pytest.mark.smtp
def test_an_email_left_sending_by_a_dead_worker_is_retaken_after_ten_minutes(
    doctor: User, smtp_server: Any
) -> None:
    email, _ = queue_password_email(doctor)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        # A worker claims it and dies before sending.
        OutboxEmail.objects.filter(pk=email.pk).update(
            status=OutboxEmail.Status.SENDING,
            attempts=1,
            next_attempt_at=timezone.now() + timedelta(minutes=10),
        )
        assert deliver_due() == 0
        clock.shift(timedelta(minutes=10, seconds=1))
        assert deliver_due() == 1
    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.SENT
    assert len(smtp_server.wait_for(doctor.email)) == 1


def test_an_email_whose_content_cant_be_opened_fails_at_once(doctor: User) -> None:
    email, _ = queue_password_email(doctor)
    sealed = bytearray(email.sealed_payload)
    sealed[-1] ^= 1
    OutboxEmail.objects.filter(pk=email.pk).update(sealed_payload=bytes(sealed))

    assert deliver_due() == 0

    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.FAILED
    assert email.sealed_payload is None
    assert mail.outbox == []
