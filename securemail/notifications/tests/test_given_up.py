"""Issue 9: a notification that finally fails is not silent. After the last retry the row
says it was given up (and when), the worker logs an ERROR unlike a retry's warning (naming
the outbox id and the kind, never the address), and the audit log records it; a bounce
is recorded too. The address never reaches the log or the audit entry."""

import logging
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from securemail.accounts.models import User
from securemail.audit.models import AuditEvent
from securemail.notifications.models import OutboxEmail
from securemail.notifications.services import RETRY_DELAYS, deliver_due
from securemail.notifications.tests.helpers import queue_password_email
from tests.support import unreachable_mailers

pytestmark = pytest.mark.django_db

NO_SUCH_USER = "550 5.1.1 Recipient address rejected: User unknown"


def _outbox_records(caplog: Any) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "securemail.notifications.services"]


def test_the_last_failed_retry_is_an_error_and_an_audit_entry_without_the_address(
    doctor: User, settings: Any, caplog: Any
) -> None:
    settings.MAILERS = unreachable_mailers()
    email, _ = queue_password_email(doctor)
    caplog.set_level(logging.INFO, logger="securemail.notifications.services")

    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in RETRY_DELAYS:
            assert deliver_due() == 0
            clock.move_to(OutboxEmail.objects.get(pk=email.pk).next_attempt_at)
        retries = [r for r in _outbox_records(caplog) if r.levelno >= logging.WARNING]
        caplog.clear()
        assert deliver_due() == 0
        given_up_at = timezone.now()

    # Each retry was a warning; none of them said it was given up.
    assert [r.levelno for r in retries] == [logging.WARNING] * len(RETRY_DELAYS)
    assert all("NOT DELIVERED" not in r.getMessage() for r in retries)
    [final] = [r for r in _outbox_records(caplog) if r.levelno >= logging.WARNING]
    assert final.levelno == logging.ERROR
    said = final.getMessage()
    assert str(email.pk) in said
    assert "set_password" in said
    assert "NOT DELIVERED" in said
    assert doctor.email not in said
    assert doctor.email not in caplog.text

    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.FAILED
    assert email.given_up_at == given_up_at
    assert email.sealed_payload is None
    [entry] = AuditEvent.objects.filter(event="notifications:outbox:not_delivered")
    assert entry.target == f"outbox:{email.pk}"
    assert entry.actor_id is None
    assert entry.data == {
        "channel": "email",
        "kind": "set_password",
        "attempts": len(RETRY_DELAYS) + 1,
        "recipient": doctor.pk,
    }
    assert doctor.email not in str(entry.data) + entry.target


@pytest.mark.smtp
def test_a_bounce_is_audited_as_a_bounce_and_logged_without_the_address(
    patient: User, smtp_server: Any, caplog: Any
) -> None:
    smtp_server.refuse[patient.email] = NO_SUCH_USER
    email, _ = queue_password_email(patient)

    assert deliver_due() == 0

    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.BOUNCED
    assert email.given_up_at is not None
    [entry] = AuditEvent.objects.filter(event="notifications:outbox:bounced")
    assert entry.target == f"outbox:{email.pk}"
    assert entry.data["kind"] == "set_password"
    assert not AuditEvent.objects.filter(event="notifications:outbox:not_delivered").exists()
    [said] = [r.getMessage() for r in _outbox_records(caplog)]
    assert str(email.pk) in said
    assert "bounced (550)" in said
    assert patient.email not in caplog.text


def test_a_retry_that_is_not_the_last_leaves_no_audit_entry(doctor: User, settings: Any) -> None:
    settings.MAILERS = unreachable_mailers()
    queue_password_email(doctor)

    assert deliver_due() == 0

    assert not AuditEvent.objects.filter(event__startswith="notifications:").exists()
    assert OutboxEmail.objects.get().given_up_at is None
