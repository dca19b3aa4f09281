"""Issue 11, "expiry that warns": three days before a conversation is deleted, both sides get
one email (no PHI) saying when, in their own time zone, with a link to it; exactly once, with
several workers at once too. README "Expiry warnings" states the rules tested here."""

import re
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from securemail.accounts.models import User
from securemail.audit.events import Event
from securemail.audit.models import AuditEvent
from securemail.messaging import services
from securemail.messaging.models import Message
from securemail.messaging.tests.helpers import BODY, PHI_WORDS, SUBJECT, as_user, send
from securemail.notifications.models import NotificationKind, OutboxEmail
from securemail.notifications.services import _payload
from securemail.onboarding.models import RecipientRole
from securemail.ops import worker
from tests.support import frozen_clock, links_in, path_of

pytestmark = pytest.mark.django_db

# 11 AM in New York (the personas' time zone): the conversation is deleted 30 days later.
SENT_AT = datetime(2031, 5, 6, 15, 0, tzinfo=UTC)
DELETED_AT = SENT_AT + timedelta(days=30)
WARNING_AT = DELETED_AT - timedelta(days=3)
REPLY = "The swelling went down overnight."
FILE_NAME = "panoramic-xray-pat-smith.png"


@pytest.fixture
def clock(tmp_path: Path) -> Iterator[Any]:
    """Time frozen at SENT_AT, with a shredding ratchet of this test's own."""
    with frozen_clock(SENT_AT, tmp_path) as traveller:
        yield traveller


def warnings() -> dict[str, dict[str, str]]:
    """Each expiry warning in the outbox by address, its content opened."""
    found: dict[str, dict[str, str]] = {}
    for email in OutboxEmail.objects.filter(kind=NotificationKind.EXPIRY_WARNING):
        assert email.to_email not in found, f"two warnings to {email.to_email}"
        found[email.to_email] = _payload(email)
    return found


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_three_days_before_both_sides_get_one_email_saying_when_with_a_link(
    clock: Any, client: Any, doctor: User, patient: User, staff: User
) -> None:
    message = send(doctor, patient, staff)
    clock.move_to(WARNING_AT - timedelta(minutes=1))
    assert services.warn_of_expiry() == 0
    assert warnings() == {}

    clock.move_to(WARNING_AT)
    assert services.warn_of_expiry() == 1

    emails = warnings()
    assert set(emails) == {doctor.email, patient.email, staff.email}
    # Recipients: who started it, and their practice, as the new-message email said.
    received = emails[patient.email]
    assert received["subject"] == "A secure conversation is deleted on June 5, 2031"
    assert (
        "Your secure conversation with Dr. Jane Roe of Bright Smiles Dental is deleted for "
        "everyone on June 5, 2031 at 11:00 AM EDT." in received["text"]
    )
    assert (
        "Your secure conversation with <strong>Dr. Jane Roe</strong> of <strong>Bright Smiles "
        "Dental</strong> is deleted for everyone on <strong>June 5, 2031 at 11:00 AM EDT"
        "</strong>." in received["html"]
    )
    assert 'choose "Export as PDF"' in received["text"]
    # Who started it: the day they did, no other name.
    started = emails[doctor.email]
    assert (
        "The secure conversation you started on May 6, 2031 is deleted for everyone on "
        "June 5, 2031 at 11:00 AM EDT." in started["text"]
    )
    assert "Pat Smith" not in str(started)
    assert "Sam Front" not in str(started)
    for address, email in emails.items():
        # The link opens the conversation, once logged in.
        [link] = [u for u in links_in(email["text"]) if "/m/" in u]
        assert path_of(link) == f"/m/{message.pk}/"
        assert f'href="{link}"' in email["html"]
        # Never the subject, the body or anything from them.
        for word in [SUBJECT, BODY, *PHI_WORDS]:
            assert word not in str(email), (address, word)
    reader = User.objects.get(email=patient.email)
    assert as_user(client, reader).get(path_of(link)).status_code == 200
    # Audited: the conversation and who was warned, ids only.
    [entry] = AuditEvent.objects.filter(event=Event.CONVERSATION_EXPIRY_WARNED.value)
    assert entry.actor_id is None
    assert entry.practice_id == doctor.practice_id
    assert entry.target == f"message:{message.pk}"
    assert sorted(entry.data["recipients"]) == sorted([doctor.pk, patient.pk, staff.pk])


def test_each_conversation_is_warned_of_once_however_often_the_worker_runs(
    clock: Any, doctor: User, patient: User
) -> None:
    send(doctor, patient)
    clock.move_to(WARNING_AT)
    assert services.warn_of_expiry() == 1
    for hours in (0, 1, 24, 71):
        clock.move_to(WARNING_AT + timedelta(hours=hours))
        assert services.warn_of_expiry() == 0
        worker.periodic()

    assert OutboxEmail.objects.filter(kind=NotificationKind.EXPIRY_WARNING).count() == 2
    assert AuditEvent.objects.filter(event=Event.CONVERSATION_EXPIRY_WARNED.value).count() == 1


def test_the_worker_sends_it_and_the_date_is_in_each_readers_time_zone(
    clock: Any, doctor: User, patient: User
) -> None:
    patient.time_zone = "Asia/Tokyo"
    patient.save(update_fields=["time_zone"])
    send(doctor, patient)
    clock.move_to(WARNING_AT + timedelta(minutes=5))

    worker.periodic()

    emails = warnings()
    # 15:00 UTC on June 5 is midnight in Tokyo: June 6.
    assert (
        "is deleted for everyone on June 6, 2031 at 12:00 AM JST." in emails[patient.email]["text"]
    )
    assert emails[patient.email]["subject"] == "A secure conversation is deleted on June 6, 2031"
    assert "June 5, 2031 at 11:00 AM EDT" in emails[doctor.email]["text"]


def test_replies_never_extend_the_conversation_and_everyone_in_it_gets_one_email(
    clock: Any, doctor: User, patient: User, staff: User
) -> None:
    message = send(doctor, patient, staff)
    clock.move_to(SENT_AT + timedelta(days=20))
    # The patient's reply would live 30 days: it is cut to the conversation's.
    answer = services.reply(sender=patient, parent=message, body=REPLY, client_token=uuid.uuid4())
    services.reply(sender=doctor, parent=answer, body="See you Friday.", client_token=uuid.uuid4())
    assert answer.expires_at == DELETED_AT

    clock.move_to(WARNING_AT)
    assert services.warn_of_expiry() == 1

    emails = warnings()
    assert set(emails) == {doctor.email, patient.email, staff.email}
    assert "June 5, 2031 at 11:00 AM EDT" in emails[patient.email]["text"]


def test_only_people_who_can_still_see_it_with_an_active_account_are_warned(
    clock: Any, login: Any, make_user: Any, doctor: User, patient: User, staff: User
) -> None:
    gone = make_user("gone.away@mail.test", kind="patient", is_active=False)
    message = send(
        doctor, patient, staff, gone, "new.person@example.test", role=RecipientRole.PATIENT
    )
    # The patient deleted it from their own mailbox.
    services.hide_for_me(user=patient, message=message)

    clock.move_to(WARNING_AT)
    services.warn_of_expiry()

    # Not the patient, nor the inactive account, nor the invitee still registering.
    assert set(warnings()) == {doctor.email, staff.email}


def test_someone_who_hid_the_first_message_but_sees_a_reply_is_linked_to_the_reply(
    clock: Any, doctor: User, patient: User
) -> None:
    message = send(doctor, patient)
    clock.move_to(SENT_AT + timedelta(days=1))
    reply = services.reply(sender=doctor, parent=message, body=REPLY, client_token=uuid.uuid4())
    services.hide_for_me(user=patient, message=message)

    clock.move_to(WARNING_AT)
    services.warn_of_expiry()

    [link] = [u for u in links_in(warnings()[patient.email]["text"]) if "/m/" in u]
    assert path_of(link) == f"/m/{reply.pk}/"


@pytest.mark.parametrize("days", [1, 2, 3])
def test_a_conversation_that_lives_three_days_or_less_gets_no_warning(
    clock: Any, doctor: User, patient: User, days: int
) -> None:
    doctor.default_expiry_days = days
    doctor.save(update_fields=["default_expiry_days"])
    send(doctor, patient)

    for hours in range(0, days * 24 + 1, 6):
        clock.move_to(SENT_AT + timedelta(hours=hours))
        assert services.warn_of_expiry() == 0

    assert warnings() == {}


def test_a_conversation_of_four_days_is_warned_of_after_one(
    clock: Any, doctor: User, patient: User
) -> None:
    doctor.default_expiry_days = 4
    doctor.save(update_fields=["default_expiry_days"])
    send(doctor, patient)

    clock.move_to(SENT_AT + timedelta(hours=23, minutes=59))
    assert services.warn_of_expiry() == 0
    clock.move_to(SENT_AT + timedelta(days=1))
    assert services.warn_of_expiry() == 1

    assert (
        "is deleted for everyone on May 10, 2031 at 11:00 AM EDT."
        in (warnings()[patient.email]["text"])
    )


def test_a_new_deletion_date_is_warned_of_in_its_turn(
    clock: Any, doctor: User, patient: User
) -> None:
    message = send(doctor, patient)
    clock.move_to(WARNING_AT)
    services.warn_of_expiry()
    OutboxEmail.objects.all().delete()

    # The sender brings the deletion forward to the next evening (their time): a new date,
    # inside the window already, warned of at the worker's next pass.
    services.change_expiry(
        actor=doctor, message=message, expires_at=datetime(2031, 6, 3, 20, 0, tzinfo=UTC)
    )
    assert services.warn_of_expiry() == 1
    assert (
        "is deleted for everyone on June 3, 2031 at 4:00 PM EDT."
        in (warnings()[patient.email]["text"])
    )
    assert services.warn_of_expiry() == 0


def test_a_date_moved_out_of_the_window_is_warned_of_when_it_comes_near(
    clock: Any, doctor: User, patient: User
) -> None:
    doctor.default_expiry_days = 10
    doctor.save(update_fields=["default_expiry_days"])
    message = send(doctor, patient)
    clock.move_to(SENT_AT + timedelta(days=7))
    assert services.warn_of_expiry() == 1
    OutboxEmail.objects.all().delete()

    services.change_expiry(actor=doctor, message=message, expires_at=SENT_AT + timedelta(days=20))

    assert services.warn_of_expiry() == 0
    clock.move_to(SENT_AT + timedelta(days=17))
    assert services.warn_of_expiry() == 1
    assert (
        "is deleted for everyone on May 26, 2031 at 11:00 AM EDT."
        in (warnings()[doctor.email]["text"])
    )


def test_nothing_is_warned_of_once_it_expired(clock: Any, doctor: User, patient: User) -> None:
    send(doctor, patient)

    clock.move_to(DELETED_AT)

    assert services.warn_of_expiry() == 0
    assert warnings() == {}


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_warn_each_conversation_once(
    tmp_path: Path, doctor: User, patient: User, staff: User
) -> None:
    with frozen_clock(SENT_AT, tmp_path) as clock:
        roots = [send(doctor, patient, staff, subject=f"Consult {n}") for n in range(6)]
        clock.move_to(WARNING_AT)
        start = threading.Barrier(4)
        counts: list[int] = []
        errors: list[BaseException] = []

        def run() -> None:
            try:
                start.wait()
                counts.append(services.warn_of_expiry())
            except BaseException as error:
                errors.append(error)
            finally:
                connection.close()

        threads = [threading.Thread(target=run) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    assert errors == []
    assert sum(counts) == len(roots)
    sent = list(
        OutboxEmail.objects.filter(kind=NotificationKind.EXPIRY_WARNING).values_list(
            "to_email", flat=True
        )
    )
    # One email per conversation per person (6 of 3 each).
    assert sorted(sent) == sorted([doctor.email, patient.email, staff.email] * len(roots))
    assert AuditEvent.objects.filter(event=Event.CONVERSATION_EXPIRY_WARNED.value).count() == 6
    assert set(Message.objects.values_list("expiry_warned_for", flat=True)) == {DELETED_AT}


def test_the_warning_comes_as_many_days_ahead_as_the_setting_says(
    clock: Any, settings: Any, doctor: User, patient: User
) -> None:
    settings.SECUREMAIL_EXPIRY_WARNING_DAYS = 7
    send(doctor, patient)

    clock.move_to(DELETED_AT - timedelta(days=7, minutes=1))
    assert services.warn_of_expiry() == 0
    clock.move_to(DELETED_AT - timedelta(days=7))
    assert services.warn_of_expiry() == 1

    assert set(warnings()) == {doctor.email, patient.email}


def test_the_warning_goes_by_email_whatever_the_notify_by_setting(
    clock: Any, doctor: User, patient: User
) -> None:
    patient.notify_by = User.Notify.NONE
    patient.save(update_fields=["notify_by"])
    send(doctor, patient)

    clock.move_to(WARNING_AT)
    services.warn_of_expiry()

    assert patient.email in warnings()
