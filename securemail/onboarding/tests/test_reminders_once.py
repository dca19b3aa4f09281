"""Issue 11 under concurrency: several `run_worker` processes run the periodic jobs at the
same moment, and each reminder still goes exactly once (threads with their own database
connections; on PostgreSQL, real parallel transactions: the row locks skip what another
worker holds and the conditional UPDATE lets one of them claim each day)."""

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from securemail.accounts.models import User
from securemail.audit.models import AuditEvent
from securemail.messaging import services as messaging
from securemail.messaging.tests.helpers import send
from securemail.notifications.models import NotificationKind, OutboxEmail
from securemail.onboarding.models import InvitationReminder, RecipientRole
from tests.support import frozen_clock

pytestmark = pytest.mark.django_db(transaction=True)

SENT_AT = datetime(2031, 5, 6, 13, 0, tzinfo=UTC)
WORKERS = 4
INVITEES = 12


@pytest.fixture(autouse=True)
def clock(tmp_path: Path) -> Iterator[Any]:
    with frozen_clock(SENT_AT, tmp_path) as traveller:
        yield traveller


def _workers_at_once() -> list[int | BaseException]:
    """WORKERS threads run the reminder job, released together; what each returned."""
    start = threading.Barrier(WORKERS)
    results: list[int | BaseException] = [0] * WORKERS

    def run(n: int) -> None:
        try:
            start.wait(timeout=30)
            results[n] = messaging.remind_invitees()
        except BaseException as error:
            results[n] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_workers_running_the_job_at_once_send_each_reminder_exactly_once(
    clock: Any, doctor: User
) -> None:
    for n in range(INVITEES):
        send(doctor, f"new.patient.{n}@example.test", role=RecipientRole.PATIENT)
    clock.move_to(SENT_AT + timedelta(days=3))

    results = _workers_at_once()

    assert all(isinstance(r, int) for r in results), results
    assert sum(r for r in results if isinstance(r, int)) == INVITEES
    reminders = OutboxEmail.objects.filter(kind=NotificationKind.INVITATION_REMINDER)
    assert reminders.count() == INVITEES
    assert len(set(reminders.values_list("to_email", flat=True))) == INVITEES
    assert InvitationReminder.objects.count() == INVITEES
    assert AuditEvent.objects.filter(event="onboarding:invitation:remind").count() == INVITEES

    # Day 15: the same again, one more each.
    clock.move_to(SENT_AT + timedelta(days=15))
    results = _workers_at_once()
    assert sum(r for r in results if isinstance(r, int)) == INVITEES
    assert reminders.count() == 2 * INVITEES


def test_one_invitation_due_for_every_worker_at_once_is_reminded_once(
    clock: Any, doctor: User
) -> None:
    send(doctor, "new.patient@example.test", role=RecipientRole.PATIENT)
    clock.move_to(SENT_AT + timedelta(days=3))

    results = _workers_at_once()

    assert sorted(r for r in results if isinstance(r, int)) == [0] * (WORKERS - 1) + [1], results
    assert OutboxEmail.objects.filter(kind=NotificationKind.INVITATION_REMINDER).count() == 1
