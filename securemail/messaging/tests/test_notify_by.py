"""Issue 11: new-message notices obey the profile's "tell me about new messages by": email
only, text only, both, or none. A text goes through the outbox like a code, says nothing
but that a message is waiting and its link, needs a verified cell phone (the email goes
instead without one) and waits out the recipient's quiet hours; someone still registering
always gets the email (their way in). The delivery slip says what each recipient got."""

import re
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.core.mail import EmailMessage

from securemail.accounts.models import User
from securemail.messaging.models import Delivery, Message
from securemail.messaging.tests.helpers import PHI_WORDS, SUBJECT, as_user, send, text_of
from securemail.notifications.models import OutboxEmail, OutboxText
from securemail.notifications.services import _text, deliver_due
from securemail.onboarding.models import RecipientRole
from tests.support import frozen_clock, links_in, path_of, unreachable_mailers

pytestmark = pytest.mark.django_db

EMAIL_ONLY, TEXT_ONLY, BOTH, NONE = (
    User.Notify.EMAIL,
    User.Notify.SMS,
    User.Notify.EMAIL_AND_SMS,
    User.Notify.NONE,
)
# Wednesday, January 15, 2031, 11:00 PM in New York (EST, UTC-5), the personas' zone.
LATE_EVENING = datetime(2031, 1, 16, 4, 0, tzinfo=UTC)
# 7:00 AM the next morning there.
MORNING = datetime(2031, 1, 16, 12, 0, tzinfo=UTC)
# 10:00 AM on a weekday there.
OFFICE_HOURS = datetime(2031, 1, 15, 15, 0, tzinfo=UTC)


@pytest.fixture
def clock(tmp_path: Path, own_files: Path) -> Iterator[Any]:
    with frozen_clock(OFFICE_HOURS, tmp_path) as traveller:
        yield traveller


def choose(user: User, notify_by: str, **fields: Any) -> User:
    user.notify_by = notify_by
    for name, value in fields.items():
        setattr(user, name, value)
    user.save()
    return user


def texts_to(user: User) -> list[EmailMessage]:
    """What the local SMS provider handed on for `user`'s cell phone."""
    address = f"{user.phone.lstrip('+')}@sms.invalid"
    return [m for m in mail.outbox if m.to == [address]]


def emails_to(user: User) -> list[EmailMessage]:
    return [m for m in mail.outbox if m.to == [user.email]]


def slip_notice(client: Any, message: Message, name: str) -> tuple[str, bool]:
    """The delivery slip's notice cell for `name`, as the message's sender sees it: its
    text, and whether it is shown as an error. (Logged in afresh: the clock moves further
    than a session stays idle.)"""
    page = as_user(client, message.sender).get(f"/m/{message.pk}/").content.decode()
    slip = re.search(r'<details class="slip">.*?<tbody>(.*?)</tbody>', page, re.S)
    assert slip is not None
    for row in re.findall(r"<tr>(.*?)</tr>", slip.group(1), re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        if text_of(cells[0]).startswith(name):
            return text_of(cells[1]), '<strong class="error">' in cells[1]
    raise AssertionError(f"no slip row for {name}")


# --- each choice --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("choice", "by_email", "by_text"),
    [(EMAIL_ONLY, 1, 0), (TEXT_ONLY, 0, 1), (BOTH, 1, 1), (NONE, 0, 0)],
    ids=["email only", "text only", "both", "none"],
)
def test_each_choice_gets_exactly_its_notices(
    doctor: User, patient: User, choice: str, by_email: int, by_text: int
) -> None:
    choose(patient, choice)

    message = send(doctor, patient)

    # Queued with the message, sent by the worker after commit.
    assert OutboxEmail.objects.filter(recipient_user_id=patient.pk).count() == by_email
    assert OutboxText.objects.filter(recipient_user_id=patient.pk).count() == by_text
    assert mail.outbox == []
    deliver_due()
    assert len(emails_to(patient)) == by_email
    assert len(texts_to(patient)) == by_text
    delivery = Delivery.objects.get(message=message, recipient=patient)
    assert (delivery.notification_id is not None) == bool(by_email)
    assert (delivery.text_notification_id is not None) == bool(by_text)
    assert (delivery.notified_at is None) == (choice == NONE)


def test_several_recipients_each_get_what_they_chose(
    doctor: User, patient: User, staff: User, other_doctor: User
) -> None:
    choose(patient, TEXT_ONLY)
    choose(staff, NONE)
    choose(other_doctor, BOTH)

    send(doctor, patient, staff, other_doctor)
    deliver_due()

    assert (len(emails_to(patient)), len(texts_to(patient))) == (0, 1)
    assert (len(emails_to(staff)), len(texts_to(staff))) == (0, 0)
    assert (len(emails_to(other_doctor)), len(texts_to(other_doctor))) == (1, 1)
    assert OutboxText.objects.get(recipient_user_id=patient.pk).kind == "new_message_text"


def test_a_reply_is_texted_to_a_sender_who_chose_texts(doctor: User, patient: User) -> None:
    from securemail.messaging import services

    choose(doctor, TEXT_ONLY)
    message = send(doctor, patient)
    deliver_due()
    mail.outbox.clear()

    services.reply(sender=patient, parent=message, body="Thank you.", client_token=None)
    deliver_due()

    assert emails_to(doctor) == []
    [text] = texts_to(doctor)
    assert text.body.startswith("SecureMail: A reply to your secure message is waiting.")


# --- what a text says ---------------------------------------------------------------------


def test_the_text_says_only_that_a_message_waits_with_its_short_link(
    doctor: User, patient: User, settings: Any
) -> None:
    settings.SECUREMAIL_BASE_URL = "https://securemail.brightsmiles-dental.example.com"
    choose(patient, BOTH)

    message = send(doctor, patient)
    deliver_due()

    [text] = texts_to(patient)
    link = f"{settings.SECUREMAIL_BASE_URL}/m/{message.pk}/"
    assert text.body == f"SecureMail: A new secure message is waiting. Log in to read it: {link}"
    # One plain text message: GSM characters only (anything else halves its length).
    assert text.body.isascii()
    assert len(text.body) <= 160
    # No PHI, and less than the email: no names at all (a text shows on a lock screen).
    for word in [SUBJECT, *PHI_WORDS, "Jane Roe", "Bright Smiles Dental", patient.full_name]:
        assert word.lower() not in text.body.lower(), word
    [email] = emails_to(patient)
    assert "Dr. Jane Roe" in email.subject
    # The link is the message's own address: nothing in it but the message's id.
    assert links_in(text.body) == [link]


def test_the_texts_link_opens_the_message_only_for_its_recipient(
    client: Any, doctor: User, patient: User, outsider: User
) -> None:
    choose(patient, TEXT_ONLY)
    message = send(doctor, patient)
    deliver_due()
    [link] = links_in(texts_to(patient)[0].body)
    assert path_of(link) == f"/m/{message.pk}/"

    anonymous = client.get(path_of(link))
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/accounts/login/?next=")
    assert as_user(client, outsider).get(path_of(link)).status_code == 404
    page = as_user(client, patient).get(path_of(link))
    assert page.status_code == 200
    assert SUBJECT in page.content.decode()


def test_the_text_is_sealed_while_it_waits(doctor: User, patient: User) -> None:
    choose(patient, TEXT_ONLY)
    message = send(doctor, patient)

    row = OutboxText.objects.get(recipient_user_id=patient.pk)
    assert row.sealed_payload is not None
    assert str(message.pk).encode() not in bytes(row.sealed_payload)
    assert str(message.pk) in _text(row)
    deliver_due()
    row.refresh_from_db()
    assert row.status == OutboxText.Status.SENT
    assert row.sealed_payload is None


# --- without a phone for texts ------------------------------------------------------------


@pytest.mark.parametrize(
    "phone",
    [
        {"phone_verified_at": None},
        {"phone_type": User.PhoneType.LANDLINE},
        {"phone": "", "phone_verified_at": None},
        {"phone": "+19005550100"},  # premium rate: texts never go there
    ],
    ids=["not verified", "a landline", "no phone", "a premium-rate number"],
)
@pytest.mark.parametrize("choice", [TEXT_ONLY, BOTH])
def test_without_a_cell_phone_for_texts_the_email_goes_instead(
    doctor: User, patient: User, choice: str, phone: dict[str, Any]
) -> None:
    choose(patient, choice, **phone)

    message = send(doctor, patient)
    deliver_due()

    assert OutboxText.objects.count() == 0
    assert len(emails_to(patient)) == 1
    assert Delivery.objects.get(message=message, recipient=patient).notification_id is not None


def test_someone_still_registering_gets_the_email_whatever_the_setting(
    doctor: User, other_doctor: User
) -> None:
    send(doctor, "new.patient@mail.test", role=RecipientRole.PATIENT)
    invitee = User.objects.get(email="new.patient@mail.test")
    deliver_due()  # the welcome email
    for choice in (NONE, TEXT_ONLY):
        # (Even with a phone texts could go to, as if the wizard had verified it.)
        choose(invitee, choice, phone="+12025550177", phone_verified_at=OFFICE_HOURS)
        mail.outbox.clear()

        send(other_doctor, invitee)
        deliver_due()

        # Their way in: the email with the registration hint, never a text.
        [email] = emails_to(invitee)
        assert "Finish creating your SecureMail account" in email.body
        assert texts_to(invitee) == []


# --- quiet hours --------------------------------------------------------------------------


def test_a_text_in_quiet_hours_waits_for_their_end_and_the_email_does_not(
    clock: Any, client: Any, doctor: User, patient: User
) -> None:
    choose(patient, BOTH, quiet_hours_start=time(21, 0), quiet_hours_end=time(7, 0))
    clock.move_to(LATE_EVENING)

    message = send(doctor, patient)

    row = OutboxText.objects.get(recipient_user_id=patient.pk)
    assert row.next_attempt_at == MORNING
    assert deliver_due() == 1
    assert len(emails_to(patient)) == 1
    assert texts_to(patient) == []
    assert slip_notice(client, message, "Pat Smith") == (
        "delivered to the mail server Jan 15 11:00 PM; text message held for their quiet hours",
        False,
    )

    clock.move_to(MORNING - timedelta(minutes=1))
    assert deliver_due() == 0
    clock.move_to(MORNING)
    assert deliver_due() == 1
    [text] = texts_to(patient)
    assert "A new secure message is waiting" in text.body
    assert slip_notice(client, message, "Pat Smith") == (
        "delivered to the mail server Jan 15 11:00 PM; text message sent Jan 16 7:00 AM",
        False,
    )


def test_outside_quiet_hours_the_text_goes_at_once(clock: Any, doctor: User, patient: User) -> None:
    choose(patient, TEXT_ONLY, quiet_hours_start=time(21, 0), quiet_hours_end=time(7, 0))

    send(doctor, patient)

    assert OutboxText.objects.get().next_attempt_at == OFFICE_HOURS
    assert deliver_due() == 1
    assert len(texts_to(patient)) == 1


def test_quiet_hours_are_the_recipients_in_their_own_time_zone(
    clock: Any, doctor: User, patient: User
) -> None:
    # 10 AM in New York is midnight in Tokyo: held until 7:00 there, 22:00 UTC.
    choose(
        patient,
        TEXT_ONLY,
        time_zone="Asia/Tokyo",
        quiet_hours_start=time(21, 0),
        quiet_hours_end=time(7, 0),
    )

    send(doctor, patient)

    assert OutboxText.objects.get().next_attempt_at == datetime(2031, 1, 15, 22, 0, tzinfo=UTC)
    assert deliver_due() == 0
    clock.move_to(datetime(2031, 1, 15, 22, 0, tzinfo=UTC))
    assert deliver_due() == 1
    assert len(texts_to(patient)) == 1


def test_on_the_night_the_clocks_change_the_text_goes_at_seven_by_the_clock(
    clock: Any, doctor: User, patient: User
) -> None:
    # Saturday, March 8, 2031, 11 PM EST; New York springs forward at 2 AM: 7:00 EDT is
    # 11:00 UTC (a fixed offset would say 12:00).
    choose(patient, TEXT_ONLY, quiet_hours_start=time(21, 0), quiet_hours_end=time(7, 0))
    clock.move_to(datetime(2031, 3, 9, 4, 0, tzinfo=UTC))

    send(doctor, patient)

    seven = datetime(2031, 3, 9, 11, 0, tzinfo=UTC)
    assert OutboxText.objects.get().next_attempt_at == seven
    clock.move_to(seven - timedelta(seconds=1))
    assert deliver_due() == 0
    clock.move_to(seven)
    assert deliver_due() == 1


# --- the delivery slip ---------------------------------------------------------------------


def test_the_slip_says_what_each_recipient_got(
    clock: Any,
    client: Any,
    doctor: User,
    patient: User,
    staff: User,
    other_doctor: User,
    free_staff: User,
) -> None:
    choose(patient, TEXT_ONLY)
    choose(staff, NONE)
    choose(other_doctor, BOTH)
    choose(free_staff, TEXT_ONLY, phone_verified_at=None)  # falls back to the email
    message = send(doctor, patient, staff, other_doctor, free_staff)

    assert slip_notice(client, message, "Pat Smith") == ("text message queued", False)
    assert slip_notice(client, message, "Sam Front") == ("not notified (their choice)", False)
    assert slip_notice(client, message, "Dr. Omar Lee") == (
        "queued; text message queued",
        False,
    )
    assert slip_notice(client, message, "Fran Free") == ("queued", False)

    clock.move_to(OFFICE_HOURS + timedelta(minutes=2))
    deliver_due()
    assert slip_notice(client, message, "Pat Smith") == ("text message sent Jan 15 10:02 AM", False)
    assert slip_notice(client, message, "Sam Front") == ("not notified (their choice)", False)
    assert slip_notice(client, message, "Dr. Omar Lee") == (
        "delivered to the mail server Jan 15 10:02 AM; text message sent Jan 15 10:02 AM",
        False,
    )
    assert slip_notice(client, message, "Fran Free") == (
        "delivered to the mail server Jan 15 10:02 AM",
        False,
    )


def test_a_text_given_up_shows_as_not_delivered(
    clock: Any, client: Any, doctor: User, patient: User, settings: Any
) -> None:
    from tests.support import unreachable_mailers

    choose(patient, TEXT_ONLY)
    # The local provider mails its texts: with no mail server, every try fails.
    settings.MAILERS = unreachable_mailers()
    message = send(doctor, patient)

    row = OutboxText.objects.get()
    while row.status != OutboxText.Status.FAILED:
        clock.move_to(max(row.next_attempt_at, OFFICE_HOURS))
        deliver_due()
        row.refresh_from_db()
        if row.status == OutboxText.Status.RETRY:
            assert slip_notice(client, message, "Pat Smith") == ("text message retrying", False)

    notice, is_error = slip_notice(client, message, "Pat Smith")
    assert notice.startswith("text message not delivered Jan 16")
    assert is_error


def test_a_retried_text_still_waits_out_the_quiet_hours(
    clock: Any, settings: Any, doctor: User, patient: User
) -> None:
    # Queued at 8:59:30 PM, a minute before quiet hours; the first try fails (the local
    # provider mails texts: mail down, provider down) and the retry falls due at 9:00:30 PM.
    choose(patient, TEXT_ONLY, quiet_hours_start=time(21, 0), quiet_hours_end=time(7, 0))
    nine_pm = LATE_EVENING - timedelta(hours=2)
    clock.move_to(nine_pm - timedelta(seconds=30))
    send(doctor, patient)
    working = settings.MAILERS
    settings.MAILERS = unreachable_mailers()
    assert deliver_due() == 0
    row = OutboxText.objects.get(recipient_user_id=patient.pk)
    assert row.status == OutboxText.Status.RETRY
    settings.MAILERS = working

    clock.move_to(nine_pm + timedelta(seconds=30))
    assert deliver_due() == 0
    assert texts_to(patient) == []
    row.refresh_from_db()
    # Held, not tried: it waits for 7:00 AM, its one failed try all it has used.
    assert (row.status, row.attempts, row.next_attempt_at) == (
        OutboxText.Status.RETRY,
        1,
        MORNING,
    )

    clock.move_to(MORNING)
    assert deliver_due() == 1
    assert len(texts_to(patient)) == 1
