"""Verification texts and voice calls go through the outbox like emails: written in the
transaction that sends the code, handed to the SMS provider by the worker after commit,
retried, and wiped once sent. "Code sent" never waits on (or fails with) the provider."""

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.utils import timezone

from securemail.accounts.models import User
from securemail.notifications.models import OutboxText
from securemail.notifications.services import RETRY_DELAYS, deliver_due
from securemail.onboarding.tests.helpers import (
    PHONE_E164,
    PHONE_INBOX,
    invite,
    post_you,
    send_code,
    start,
)
from tests.support import free_port, unreachable_mailers

pytestmark = pytest.mark.django_db

EMAIL = "texted.patient@example.test"


@pytest.fixture
def on_verify_step(doctor: User) -> Client:
    _, join_path = invite(doctor, EMAIL, "patient")
    client = start(join_path)
    post_you(client)
    mail.outbox.clear()
    return client


def _texts_to_phone() -> list[Any]:
    return [m for m in mail.outbox if m.to == [PHONE_INBOX]]


def test_a_text_is_queued_sealed_and_sent_by_the_worker(on_verify_step: Client) -> None:
    response = send_code(on_verify_step, "sms")

    assert response.status_code == 302
    [queued] = OutboxText.objects.all()
    assert queued.status == OutboxText.Status.QUEUED
    assert (queued.to_phone, queued.channel) == (PHONE_E164, "sms")
    # Nothing went out inside the request.
    assert _texts_to_phone() == []

    assert deliver_due() == 1

    [text] = _texts_to_phone()
    assert "Your SecureMail verification code is" in text.body
    queued.refresh_from_db()
    assert queued.status == OutboxText.Status.SENT
    # The code must not outlive delivery in the database.
    assert queued.sealed_payload is None
    assert queued.wrapped_key is None
    assert deliver_due() == 0


def test_the_code_is_sealed_while_it_waits(on_verify_step: Client) -> None:
    send_code(on_verify_step, "sms")
    [queued] = OutboxText.objects.all()
    assert queued.sealed_payload is not None

    deliver_due()

    code = _texts_to_phone()[0].body.split("code is ")[1][:6]
    assert code.encode() not in bytes(queued.sealed_payload)


def test_a_voice_call_speaks_the_digits_one_by_one(doctor: User) -> None:
    _, join_path = invite(doctor, EMAIL, "patient")
    client = start(join_path)
    post_you(client, phone_type="landline")

    assert send_code(client, "voice").status_code == 302
    deliver_due()

    [call] = _texts_to_phone()
    assert call.subject == f"Voice call to {PHONE_E164}"
    assert OutboxText.objects.get().channel == "voice"
    digits = call.body.split("code is ")[1].rstrip(".\n")
    assert len(digits.split(" ")) == 6


def test_code_sent_does_not_depend_on_the_text_provider_being_up(
    on_verify_step: Client, settings: Any
) -> None:
    # The local provider mails texts: with mail down, it is down.
    settings.MAILERS = unreachable_mailers()

    response = send_code(on_verify_step, "sms")

    assert response.status_code == 302
    assert "We sent a new code to" in on_verify_step.get(response["Location"]).content.decode()
    with time_machine.travel(timezone.now(), tick=False) as clock:
        assert deliver_due() == 0
        queued = OutboxText.objects.get()
        assert queued.status == OutboxText.Status.RETRY
        assert queued.next_attempt_at == timezone.now() + timedelta(seconds=RETRY_DELAYS[0])
        # Back up: the retry delivers it.
        settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
        clock.shift(timedelta(seconds=RETRY_DELAYS[0]))
        assert deliver_due() == 1
    assert len(_texts_to_phone()) == 1


def test_twilio_is_called_by_the_worker_not_inside_the_request(
    on_verify_step: Client, settings: Any
) -> None:
    settings.SMS_PROVIDER = "twilio"
    settings.TWILIO_ACCOUNT_SID = "AC0123456789abcdef0123456789abcdef"
    settings.TWILIO_AUTH_TOKEN = "token"
    settings.TWILIO_FROM_NUMBER = "+12025550100"
    settings.TWILIO_API_BASE = f"http://127.0.0.1:{free_port()}"

    assert send_code(on_verify_step, "sms").status_code == 302

    with time_machine.travel(timezone.now(), tick=False) as clock:
        for delay in RETRY_DELAYS:
            assert deliver_due() == 0
            clock.shift(timedelta(seconds=delay))
        assert deliver_due() == 0
    queued = OutboxText.objects.get()
    assert queued.status == OutboxText.Status.FAILED
    assert queued.last_error == "SmsError"
    assert queued.sealed_payload is None
