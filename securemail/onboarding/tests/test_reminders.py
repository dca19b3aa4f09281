"""Issue 11, "Onboarding that follows up": an invitee who hasn't registered gets a reminder
on days 3, 15 and 29 after the invitation, from the worker's periodic job, until they
register, the message waiting for them is deleted, or its sender stops them. Each reminder
goes once (a worker down for days sends only the latest one due), carries the same link
while it works and a fresh one when it doesn't, is audited, and says no more than the
welcome email: who invited them, the practice, the link and when the message is deleted."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from securemail.accounts.models import User
from securemail.audit.models import AuditEvent
from securemail.messaging import services as messaging
from securemail.messaging.models import Message
from securemail.messaging.tests.helpers import BODY, PHI_WORDS, SUBJECT, send, send_with_files
from securemail.notifications.models import NotificationKind, OutboxEmail
from securemail.onboarding.models import Invitation, InvitationReminder, RecipientRole
from securemail.onboarding.services.reminders import due_day
from securemail.onboarding.tests.helpers import (
    INVALID_LINK_TEXT,
    MAILBOX,
    Sent,
    finish_wizard,
    start,
)
from securemail.ops.worker import periodic
from tests.support import frozen_clock

pytestmark = pytest.mark.django_db

# 9:00 AM in New York on May 6, 2031; the message is deleted 30 days later, on June 5.
SENT_AT = datetime(2031, 5, 6, 13, 0, tzinfo=UTC)
NEWCOMER = "new.patient@example.test"
REMINDER_SUBJECT = "Reminder: Dr. Jane Roe of Bright Smiles Dental has sent you a secure message"


@pytest.fixture(autouse=True)
def clock(tmp_path: Path, own_files: Path) -> Iterator[Any]:
    with frozen_clock(SENT_AT, tmp_path) as traveller:
        yield traveller


@pytest.fixture
def invited(doctor: User) -> Message:
    """The doctor's message to a new address (a patient), its welcome email delivered."""
    message = send(doctor, NEWCOMER, role=RecipientRole.PATIENT)
    [welcome] = MAILBOX.to(NEWCOMER)
    assert "Reminder" not in welcome.subject
    return message


def on_day(clock: Any, day: float) -> None:
    clock.move_to(SENT_AT + timedelta(days=day))


def run_worker() -> None:
    """The worker's periodic pass (several workers run it: see test_reminders_once.py)."""
    periodic()


def reminders() -> list[Sent]:
    return [m for m in MAILBOX.to(NEWCOMER) if m.subject.startswith("Reminder:")]


def welcome_link() -> str:
    [welcome] = [m for m in MAILBOX.to(NEWCOMER) if not m.subject.startswith("Reminder:")]
    return link_in(welcome)


def link_in(email: Sent) -> str:
    [link] = [line.strip() for line in email.text.splitlines() if "/join/" in line]
    return "/join/" + link.split("/join/", 1)[1]


def invitation() -> Invitation:
    return Invitation.objects.get(invitee__email=NEWCOMER)


# --- when -----------------------------------------------------------------------------------


def test_nothing_is_sent_before_day_three(clock: Any, invited: Message) -> None:
    for day in (0, 1, 2, 3 - 1 / 24 / 60):
        on_day(clock, day)
        run_worker()
    assert reminders() == []
    assert InvitationReminder.objects.count() == 0
    assert invitation().reminded_day == 0


def test_on_day_three_the_invitee_gets_one_reminder_with_the_same_link(
    clock: Any, client: Any, invited: Message, doctor: User
) -> None:
    on_day(clock, 3)
    run_worker()

    [reminder] = reminders()
    assert reminder.to == [NEWCOMER]
    assert reminder.subject == REMINDER_SUBJECT
    for part in (reminder.text, reminder.html):
        assert "Dr. Jane Roe" in part
        assert "Bright Smiles Dental" in part
        assert "May 6, 2031" in part
        assert "deleted for good on" in part
        assert "June 5, 2031" in part
    assert "This is the same link as in the invitation email." in reminder.text
    # The same link as the welcome email's, and it still works.
    assert link_in(reminder) == welcome_link()
    page = client.get(link_in(reminder))
    assert page.status_code == 200
    assert "Start registration" in page.content.decode()
    [row] = InvitationReminder.objects.all()
    assert (row.day, row.sent_at, row.fresh_link) == (3, SENT_AT + timedelta(days=3), False)
    [outbox] = OutboxEmail.objects.filter(kind=NotificationKind.INVITATION_REMINDER)
    assert outbox.recipient_user_id == invitation().invitee_id
    [entry] = AuditEvent.objects.filter(event="onboarding:invitation:remind")
    assert entry.actor_id is None
    assert entry.practice_id == doctor.practice_id
    assert entry.target == f"invitation:{invitation().pk}"
    assert entry.data == {"day": 3, "link": "same"}


def test_running_the_job_again_on_the_same_day_sends_nothing_more(
    clock: Any, invited: Message
) -> None:
    on_day(clock, 3)
    run_worker()
    run_worker()
    on_day(clock, 14.9)
    run_worker()

    assert len(reminders()) == 1
    assert AuditEvent.objects.filter(event="onboarding:invitation:remind").count() == 1


def test_days_fifteen_and_twenty_nine_each_send_one_more_and_then_none(
    clock: Any, invited: Message
) -> None:
    for day in (3, 4, 15, 16, 28, 29, 29.5):
        on_day(clock, day)
        run_worker()

    assert len(reminders()) == 3
    assert list(InvitationReminder.objects.order_by("day").values_list("day", "sent_at")) == [
        (3, SENT_AT + timedelta(days=3)),
        (15, SENT_AT + timedelta(days=15)),
        (29, SENT_AT + timedelta(days=29)),
    ]
    last = reminders()[-1]
    assert "This is the last reminder." in last.text
    assert "last reminder" not in reminders()[0].text
    # Every one carried the link of the welcome email.
    assert {link_in(r) for r in reminders()} == {welcome_link()}


def test_a_worker_down_from_day_two_to_day_sixteen_sends_one_reminder_not_two(
    clock: Any, invited: Message
) -> None:
    on_day(clock, 2)
    run_worker()
    on_day(clock, 16)
    run_worker()
    run_worker()

    assert len(reminders()) == 1
    assert list(InvitationReminder.objects.values_list("day", flat=True)) == [15]
    # Day 3's reminder never comes after day 15's; day 29's does.
    on_day(clock, 29)
    run_worker()
    assert list(InvitationReminder.objects.order_by("day").values_list("day", flat=True)) == [
        15,
        29,
    ]


@pytest.mark.parametrize(
    ("days", "due"),
    [(0, 0), (2.99, 0), (3, 3), (14.99, 3), (15, 15), (28.99, 15), (29, 29), (45, 29)],
)
def test_the_day_due_is_the_latest_reminder_day_reached(days: float, due: int) -> None:
    assert due_day(SENT_AT, SENT_AT + timedelta(days=days)) == due


# --- until ------------------------------------------------------------------------------------


def test_a_reminder_is_never_sent_after_the_invitee_registered(
    clock: Any, invited: Message
) -> None:
    on_day(clock, 2)
    finish_wizard(start(welcome_link()))
    assert User.objects.get(email=NEWCOMER).status == User.Status.REGISTERED
    for day in (3, 15, 29):
        on_day(clock, day)
        run_worker()

    assert reminders() == []
    assert not AuditEvent.objects.filter(event="onboarding:invitation:remind").exists()
    # Registering wiped the link kept for the reminders.
    assert invitation().link_sealed is None
    assert invitation().wrapped_key is None


def test_reminders_end_when_the_invitee_registers_between_two_of_them(
    clock: Any, invited: Message
) -> None:
    on_day(clock, 3)
    run_worker()
    on_day(clock, 5)
    finish_wizard(start(link_in(reminders()[0])))
    for day in (15, 29):
        on_day(clock, day)
        run_worker()

    assert len(reminders()) == 1


def test_no_reminder_once_the_message_waiting_for_them_expired(
    clock: Any, invited: Message, doctor: User
) -> None:
    # The doctor shortens the message's life to 10 days: it goes before day 15.
    messaging.change_expiry(actor=doctor, message=invited, expires_at=SENT_AT + timedelta(days=10))
    on_day(clock, 3)
    run_worker()
    [first] = reminders()
    assert "May 16, 2031" in first.text
    on_day(clock, 15)
    run_worker()

    assert len(reminders()) == 1
    assert not Message.objects.filter(pk=invited.pk).exists()


def test_no_reminder_once_the_sender_deleted_the_message(
    clock: Any, invited: Message, doctor: User
) -> None:
    messaging.delete_for_everyone(actor=doctor, message=invited)
    on_day(clock, 3)
    run_worker()

    assert reminders() == []


def test_another_message_waiting_keeps_the_reminders_going_until_it_is_deleted(
    clock: Any, invited: Message, doctor: User, staff: User
) -> None:
    # A colleague writes to the same invitee on day 10; the first message is deleted.
    on_day(clock, 10)
    later = send(staff, NEWCOMER, subject="Aftercare")
    messaging.delete_for_everyone(actor=doctor, message=invited)
    on_day(clock, 15)
    run_worker()

    [reminder] = reminders()
    # Still on behalf of whoever invited them; the later message is deleted on June 15.
    assert reminder.subject == REMINDER_SUBJECT
    assert "June 15, 2031" in reminder.text
    assert later.expires_at == SENT_AT + timedelta(days=40)


def test_no_reminder_once_the_sender_stopped_them(
    clock: Any, client: Any, invited: Message, doctor: User
) -> None:
    on_day(clock, 1)
    client.force_login(doctor, backend="securemail.accounts.backends.EmailBackend")
    user_id = invitation().invitee_id
    response = client.post(
        f"/practice/invitations/{user_id}/reminders/stop/", {"message": str(invited.pk)}
    )
    assert response.status_code == 302
    for day in (3, 15, 29):
        on_day(clock, day)
        run_worker()

    assert reminders() == []
    assert invitation().reminders_stopped_at == SENT_AT + timedelta(days=1)


# --- the link ---------------------------------------------------------------------------------


def test_a_link_no_longer_valid_gets_a_fresh_one_and_the_old_stops_working(
    clock: Any, client: Any, settings: Any, invited: Message
) -> None:
    # Links good for 10 days here: by day 15 the welcome email's has expired.
    settings.SECUREMAIL_INVITATION_DAYS = 10
    Invitation.objects.update(expires_at=SENT_AT + timedelta(days=10))
    old = welcome_link()
    on_day(clock, 3)
    run_worker()
    assert link_in(reminders()[0]) == old
    on_day(clock, 15)
    run_worker()

    fresh = reminders()[-1]
    assert link_in(fresh) != old
    assert "This is a fresh link: the one in the earlier email no longer works." in fresh.text
    assert "May 31, 2031" in fresh.text
    assert InvitationReminder.objects.get(day=15).fresh_link
    entry = AuditEvent.objects.filter(event="onboarding:invitation:remind").latest("id")
    assert entry.data == {"day": 15, "link": "fresh"}
    gone = client.get(old)
    assert gone.status_code == 404
    assert INVALID_LINK_TEXT in gone.content.decode()
    assert client.get(link_in(fresh)).status_code == 200
    # It registers, and nothing more is sent.
    finish_wizard(start(link_in(fresh)))
    on_day(clock, 29)
    run_worker()
    assert len(reminders()) == 2


def test_an_invitation_whose_link_is_not_kept_gets_a_fresh_one(
    clock: Any, client: Any, invited: Message
) -> None:
    # An invitation made before reminders existed has only its link's hash.
    Invitation.objects.update(wrapped_key=None, key_version=None, link_sealed=None)
    on_day(clock, 3)
    run_worker()

    [reminder] = reminders()
    assert link_in(reminder) != welcome_link()
    assert client.get(welcome_link()).status_code == 404
    assert client.get(link_in(reminder)).status_code == 200


def test_the_link_is_kept_only_sealed(invited: Message) -> None:
    token = welcome_link().strip("/").rsplit("/", 1)[-1]
    row = invitation()
    assert row.link_sealed is not None
    assert token.encode() not in bytes(row.link_sealed)
    assert token not in str(Invitation.objects.values().get())


# --- what it says -----------------------------------------------------------------------------


def test_the_reminder_carries_no_phi(clock: Any, doctor: User, patient: User) -> None:
    send_with_files(
        doctor,
        NEWCOMER,
        patient,
        files={"biopsy-results-pat-smith.pdf": b"%PDF-1.4 results"},
        role=RecipientRole.PATIENT,
    )
    on_day(clock, 3)
    run_worker()

    [reminder] = reminders()
    for part in (reminder.subject, reminder.text, reminder.html):
        for phi in [SUBJECT, BODY, *PHI_WORDS, "biopsy", "pat-smith", "Pat Smith"]:
            assert phi not in part
    assert patient.email not in reminder.everything


def test_a_registration_started_from_the_link_still_gets_reminded(
    clock: Any, invited: Message
) -> None:
    on_day(clock, 1)
    start(welcome_link())
    assert User.objects.get(email=NEWCOMER).status == User.Status.STARTED
    on_day(clock, 3)
    run_worker()

    [reminder] = reminders()
    assert link_in(reminder) == welcome_link()


def test_a_corrected_address_does_not_restart_the_reminders(
    clock: Any, client: Any, invited: Message, doctor: User
) -> None:
    on_day(clock, 3)
    run_worker()
    on_day(clock, 4)
    client.force_login(doctor, backend="securemail.accounts.backends.EmailBackend")
    user_id = invitation().invitee_id
    response = client.post(
        f"/practice/invitations/{user_id}/", {"email": "right.patient@example.test"}
    )
    assert response.status_code == 302
    on_day(clock, 5)
    run_worker()
    assert [m for m in MAILBOX.to("right.patient@example.test") if "Reminder" in m.subject] == []
    on_day(clock, 15)
    run_worker()
    [reminder] = [m for m in MAILBOX.to("right.patient@example.test") if "Reminder" in m.subject]
    # The new address's own link.
    welcome = MAILBOX.to("right.patient@example.test")[0]
    assert link_in(reminder) == link_in(welcome)


def test_the_reminders_dates_are_the_invitees_days(clock: Any, doctor: User) -> None:
    # 9:30 PM in New York on May 6 is already May 7 in UTC, the server's time zone; so are
    # the link's end (30 days on, June 5) and the message's deletion (June 5).
    evening = datetime(2031, 5, 7, 1, 30, tzinfo=UTC)
    clock.move_to(evening)
    send(doctor, NEWCOMER, role=RecipientRole.PATIENT)
    invitee = User.objects.get(email=NEWCOMER)
    invitee.time_zone = "America/New_York"
    invitee.save()
    clock.move_to(evening + timedelta(days=3))
    run_worker()

    [reminder] = reminders()
    for part in (reminder.text, reminder.html):
        assert "through SecureMail on May 6, 2031" in part
        assert "June 5, 2031" in part
        assert "May 7, 2031" not in part
        assert "June 6, 2031" not in part
    # The welcome email's link end too.
    [welcome] = [m for m in MAILBOX.to(NEWCOMER) if not m.subject.startswith("Reminder:")]
    assert "until June 5, 2031" in welcome.text
    assert "June 6, 2031" not in welcome.text + welcome.html
