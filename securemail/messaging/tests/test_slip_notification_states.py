"""Issue 9: the delivery slip says what became of each recipient's email, read from its
outbox row: queued, delivered to the mail server (and when), retrying, not delivered (once
the retries are used up), bounced. It used to say "notified" at the sending time whatever
happened. Through a real SMTP server on loopback."""

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from securemail.accounts.models import User
from securemail.messaging.tests.helpers import as_user, send, text_of
from securemail.notifications.models import OutboxEmail
from securemail.notifications.services import RETRY_DELAYS, deliver_due
from tests.support import frozen_clock

pytestmark = [pytest.mark.django_db, pytest.mark.smtp]

# 9:00 AM in New York, the personas' time zone.
SENT_AT = datetime(2031, 5, 6, 13, 0, tzinfo=UTC)
BUSY = "450 4.2.1 Mailbox busy, try again later"
NO_SUCH_USER = "550 5.1.1 Recipient address rejected: User unknown"


@pytest.fixture(autouse=True)
def clock(tmp_path: Path, own_files: Path) -> Iterator[Any]:
    with frozen_clock(SENT_AT, tmp_path) as traveller:
        yield traveller


def _notice(page: Any, name: str) -> tuple[str, bool]:
    """The slip's email cell for `name` (its text), and whether it is shown as an error."""
    slip = re.search(r'<details class="slip">.*?<tbody>(.*?)</tbody>', page.content.decode(), re.S)
    assert slip is not None
    for row in re.findall(r"<tr>(.*?)</tr>", slip.group(1), re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        if text_of(cells[0]).startswith(name):
            return text_of(cells[1]), '<strong class="error">' in cells[1]
    raise AssertionError(f"no slip row for {name}")


def test_the_slip_follows_each_email_from_queued_to_delivered_or_not_delivered(
    clock: Any, client: Any, doctor: User, patient: User, staff: User, smtp_server: Any
) -> None:
    # The patient's mail server keeps answering "try later"; the staff member's takes it.
    smtp_server.refuse[patient.email] = BUSY
    message = send(doctor, patient, staff)
    slip = f"/m/{message.pk}/"

    page = as_user(client, doctor).get(slip)
    assert _notice(page, "Pat Smith") == ("queued", False)
    assert _notice(page, "Sam Front") == ("queued", False)

    clock.move_to(SENT_AT + timedelta(minutes=3))
    assert deliver_due() == 1
    page = client.get(slip)
    assert _notice(page, "Pat Smith") == ("retrying", False)
    assert _notice(page, "Sam Front") == ("delivered to the mail server May 6 9:03 AM", False)

    patients = OutboxEmail.objects.get(to_email=patient.email)
    for _ in RETRY_DELAYS:
        clock.move_to(OutboxEmail.objects.get(pk=patients.pk).next_attempt_at)
        assert deliver_due() == 0
    patients.refresh_from_db()
    assert patients.status == OutboxEmail.Status.FAILED

    page = as_user(client, doctor).get(slip)
    # Given up after the last retry, 14 hours 39 minutes after sending: 11:39 PM in New York.
    assert _notice(page, "Pat Smith") == ("not delivered May 6 11:39 PM", True)
    assert _notice(page, "Sam Front") == ("delivered to the mail server May 6 9:03 AM", False)
    assert len(smtp_server.to(patient.email)) == 0


def test_a_bounced_email_shows_as_bounced_on_the_slip(
    clock: Any, client: Any, doctor: User, patient: User, smtp_server: Any
) -> None:
    smtp_server.refuse[patient.email] = NO_SUCH_USER
    message = send(doctor, patient)
    clock.move_to(SENT_AT + timedelta(minutes=1))

    assert deliver_due() == 0

    page = as_user(client, doctor).get(f"/m/{message.pk}/")
    assert _notice(page, "Pat Smith") == ("bounced May 6 9:01 AM", True)
    # Only the sender sees it: the patient sees no slip at all.
    assert "Delivery slip" not in as_user(client, patient).get(f"/m/{message.pk}/").content.decode()
