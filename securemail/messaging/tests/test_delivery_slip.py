"""The delivery slip (SPEC §4 "Beyond", README "The mailbox"): on the sender's conversation
page, for each recipient of each message they sent, how the email telling them went
(queued, delivered to the mail server and when, retrying, not delivered, bounced: issue 9),
when they registered, first opened it, replied, and downloaded each attachment, in the
sender's time zone; nobody else sees it, and it costs the same queries whatever the
recipients."""

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from securemail.accounts.models import User
from securemail.messaging import services
from securemail.messaging.models import Attachment, Message
from securemail.messaging.tests.helpers import as_user, queries_for, send, send_with_files, text_of
from securemail.notifications.services import deliver_due
from securemail.onboarding.models import RecipientRole
from securemail.onboarding.tests.helpers import MAILBOX, finish_wizard, start
from tests.support import attachment_url, downloaded, frozen_clock

pytestmark = pytest.mark.django_db

# 9:00 AM in New York, the personas' time zone.
SENT_AT = datetime(2031, 5, 6, 13, 0, tzinfo=UTC)
XRAY = b"\x89PNG\r\n\x1a\n periapical radiograph " * 500
NOTES = b"Tooth 14: fractured palatal cusp." * 50
REPLY = "Thanks, I'll book the crown prep."
NEWCOMER = "new.patient@example.test"


@pytest.fixture(autouse=True)
def clock(tmp_path: Path, own_files: Path) -> Iterator[Any]:
    """Time frozen at SENT_AT, with a shredding ratchet and a file store of this test's own."""
    with frozen_clock(SENT_AT, tmp_path) as traveller:
        yield traveller


def _slips(page: Any) -> dict[str, list[list[str]] | None]:
    """Each message section of a thread page (by its label) → its slip's rows (the cells'
    text), or None when the section has no slip."""
    sections = re.findall(
        r'<section class="message[^"]*" aria-label="([^"]+)">(.*?)</section>',
        page.content.decode(),
        flags=re.S,
    )
    found: dict[str, list[list[str]] | None] = {}
    for label, html in sections:
        slip = re.search(r'<details class="slip">.*?<tbody>(.*?)</tbody>', html, flags=re.S)
        found[label] = (
            None
            if slip is None
            else [
                [text_of(cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
                for row in re.findall(r"<tr>(.*?)</tr>", slip.group(1), flags=re.S)
            ]
        )
    return found


def _row(page: Any, label: str, name: str) -> list[str]:
    rows = _slips(page)[label]
    assert rows is not None, f"no slip on {label}"
    [row] = [r for r in rows if r[0].startswith(name)]
    return row


FROM_DOCTOR = "Message from Dr. Jane Roe"


def test_the_slip_shows_when_each_recipient_was_notified_opened_replied_and_downloaded(
    clock: Any, client: Any, doctor: User, patient: User, staff: User
) -> None:
    message = send_with_files(doctor, patient, staff, files={"xray.png": XRAY, "notes.txt": NOTES})
    xray, notes = Attachment.objects.filter(message=message).order_by("position")
    before = as_user(client, doctor).get(f"/m/{message.pk}/")
    untouched = ["queued", "already a user", "not yet", "—", "not yet"]
    assert _row(before, FROM_DOCTOR, "Pat Smith")[1:] == untouched
    assert _row(before, FROM_DOCTOR, "Sam Front")[1:] == untouched
    # The worker hands the notifications to the mail server two minutes later.
    clock.move_to(SENT_AT + timedelta(minutes=2))
    assert deliver_due() == 2

    clock.move_to(SENT_AT + timedelta(hours=1, minutes=5))
    as_user(client, patient).get(f"/m/{message.pk}/")
    clock.move_to(SENT_AT + timedelta(hours=1, minutes=20))
    assert downloaded(client.get(attachment_url(xray))) == XRAY
    clock.move_to(SENT_AT + timedelta(hours=2, minutes=45))
    services.reply(sender=patient, parent=message, body=REPLY, client_token=uuid.uuid4())
    clock.move_to(SENT_AT + timedelta(hours=19))
    as_user(client, patient)
    assert downloaded(client.get(attachment_url(notes))) == NOTES
    # Only the first download counts.
    clock.move_to(SENT_AT + timedelta(hours=20))
    client.get(attachment_url(xray))
    clock.move_to(SENT_AT + timedelta(hours=21))
    as_user(client, staff)
    assert downloaded(client.get(attachment_url(notes))) == NOTES

    page = as_user(client, doctor).get(f"/m/{message.pk}/")

    assert _row(page, FROM_DOCTOR, "Pat Smith") == [
        "Pat Smith",
        "delivered to the mail server May 6 9:02 AM",
        "already a user",
        "May 6 10:05 AM",
        "May 6 11:45 AM",
        "xray.png: May 6 10:20 AM notes.txt: May 7 4:00 AM",
    ]
    # Downloading is not opening the conversation.
    assert _row(page, FROM_DOCTOR, "Sam Front") == [
        "Sam Front",
        "delivered to the mail server May 6 9:02 AM",
        "already a user",
        "not yet",
        "—",
        "notes.txt: May 7 6:00 AM",
    ]
    # The patient's reply is theirs: the doctor sees no slip for it.
    assert _slips(page)["Message from Pat Smith"] is None


def test_an_invitees_slip_says_not_yet_registered_until_they_finish_registration(
    clock: Any, client: Any, doctor: User, patient: User
) -> None:
    message = send(doctor, patient, NEWCOMER, role=RecipientRole.PATIENT)
    page = as_user(client, doctor).get(f"/m/{message.pk}/")
    # Someone this message invited got their welcome email instead: its state is theirs.
    assert _row(page, FROM_DOCTOR, NEWCOMER)[1:] == ["queued", "not yet", "not yet", "—"]
    clock.move_to(SENT_AT + timedelta(minutes=1))
    assert deliver_due() == 2
    page = as_user(client, doctor).get(f"/m/{message.pk}/")
    assert _row(page, FROM_DOCTOR, NEWCOMER)[1] == "delivered to the mail server May 6 9:01 AM"

    # The next day at 7:30 AM (New York) the newcomer follows the emailed link and registers.
    clock.move_to(SENT_AT + timedelta(days=1, hours=-1, minutes=-30))
    browser = start(MAILBOX.link(NEWCOMER, "/join/"))
    finish_wizard(browser)
    assert User.objects.get(email=NEWCOMER).status == User.Status.REGISTERED

    page = as_user(client, doctor).get(f"/m/{message.pk}/")
    assert _row(page, FROM_DOCTOR, "Alex Newman")[1:] == [
        "delivered to the mail server May 6 9:01 AM",
        "May 7 7:30 AM",
        "not yet",
        "—",
    ]
    assert _row(page, FROM_DOCTOR, "Pat Smith")[2] == "already a user"


def test_someone_invited_by_another_sender_is_not_yet_registered_on_this_slip_either(
    clock: Any, client: Any, doctor: User, staff: User
) -> None:
    send(staff, NEWCOMER, role=RecipientRole.PATIENT, subject="Welcome to the practice")
    clock.move_to(SENT_AT + timedelta(hours=1))
    message = send(doctor, NEWCOMER, subject="Your crown")

    page = as_user(client, doctor).get(f"/m/{message.pk}/")

    # Invited by another message: this one sent them its own email.
    assert _row(page, FROM_DOCTOR, NEWCOMER)[1:] == ["queued", "not yet", "not yet", "—"]
    clock.move_to(SENT_AT + timedelta(hours=3))
    finish_wizard(start(MAILBOX.link(NEWCOMER, "/join/")))
    page = as_user(client, doctor).get(f"/m/{message.pk}/")
    assert _row(page, FROM_DOCTOR, "Alex Newman")[2] == "May 6 12:00 PM"
    # Registered before this message was sent: "already a user" to the next sender.
    clock.move_to(SENT_AT + timedelta(hours=4))
    later = send(doctor, NEWCOMER, subject="Aftercare")
    page = as_user(client, doctor).get(f"/m/{later.pk}/")
    assert _row(page, FROM_DOCTOR, "Alex Newman")[2] == "already a user"


def test_a_recipient_does_not_see_the_slip_of_someone_elses_message(
    client: Any, doctor: User, patient: User, staff: User
) -> None:
    message = send(doctor, patient, staff)
    as_user(client, staff).get(f"/m/{message.pk}/")
    services.reply(sender=patient, parent=message, body=REPLY, client_token=uuid.uuid4())

    page = as_user(client, patient).get(f"/m/{message.pk}/")
    slips = _slips(page)
    assert slips[FROM_DOCTOR] is None
    # Their own reply has one: it went to the doctor only.
    assert [row[0] for row in slips["Message from Pat Smith"] or []] == ["Dr. Jane Roe"]
    assert "Sam Front" not in str(slips["Message from Pat Smith"])
    # The staff member sees neither the doctor's slip nor the reply (not sent to them).
    assert _slips(as_user(client, staff).get(f"/m/{message.pk}/")) == {FROM_DOCTOR: None}
    assert "Delivery slip" not in as_user(client, staff).get(f"/m/{message.pk}/").content.decode()


def test_the_slips_dates_are_in_the_senders_time_zone(
    clock: Any, client: Any, doctor: User, patient: User
) -> None:
    doctor.time_zone = "Asia/Tokyo"
    doctor.save()
    # 3:30 PM UTC: 11:30 AM on May 6 in New York (the patient's zone), 12:30 AM on May 7 in Tokyo.
    clock.move_to(datetime(2031, 5, 6, 15, 30, tzinfo=UTC))
    message = send_with_files(doctor, patient, files={"xray.png": XRAY})
    [xray] = Attachment.objects.filter(message=message)
    assert deliver_due() == 1
    clock.move_to(datetime(2031, 5, 6, 16, 10, tzinfo=UTC))
    as_user(client, patient).get(f"/m/{message.pk}/")
    client.get(attachment_url(xray))

    page = as_user(client, doctor).get(f"/m/{message.pk}/")

    assert _row(page, FROM_DOCTOR, "Pat Smith")[1:] == [
        "delivered to the mail server May 7 12:30 AM",
        "already a user",
        "May 7 1:10 AM",
        "—",
        "xray.png: May 7 1:10 AM",
    ]
    assert "May 7, 2031 12:30 AM JST" in page.content.decode()


def test_the_conversation_page_queries_do_not_grow_with_the_number_of_recipients(
    client: Any,
    doctor: User,
    patient: User,
    staff: User,
    free_staff: User,
    other_doctor: User,
    outsider: User,
) -> None:
    def busy(*recipients: User | str) -> Message:
        """A message with a file that every recipient opened and downloaded."""
        message = send_with_files(
            doctor, *recipients, files={"xray.png": XRAY}, role=RecipientRole.PATIENT
        )
        [xray] = Attachment.objects.filter(message=message)
        for delivery in message.deliveries.select_related("recipient"):
            services.mark_read(reader=delivery.recipient, messages=[message])
            services.record_download(reader=delivery.recipient, attachment=xray)
        return message

    # Someone still registering on each (their onboarding is one query more, once).
    few = busy(patient, "first.newcomer@example.test")
    many = busy(
        patient, staff, free_staff, other_doctor, outsider, NEWCOMER, "another@example.test"
    )
    as_user(client, doctor)

    assert queries_for(client, f"/m/{many.pk}/") == queries_for(client, f"/m/{few.pk}/")
    page = client.get(f"/m/{many.pk}/")
    assert len(_slips(page)[FROM_DOCTOR] or []) == 7
    assert text_of(page.content.decode()).count("xray.png: May 6 9:00 AM") == 7


def test_markup_people_typed_shows_as_text_on_the_conversation_and_its_slip(
    client: Any, doctor: User, patient: User
) -> None:
    # The cards and slips are written as markup in Python (views/cards.py): every value a
    # person typed (names, a practice's name, the body) is escaped there.
    User.objects.filter(pk=doctor.pk).update(full_name='Jane <img src=x onerror="alert(1)">')
    User.objects.filter(pk=patient.pk).update(full_name="Pat <i>Smith</i>")
    doctor.practice.name = "Smiles & <b>Co</b>"
    doctor.practice.save()
    doctor.refresh_from_db()
    message = send_with_files(
        doctor,
        patient,
        files={"x.png": XRAY},
        body='<script>alert("body")</script>\nSecond line & more\n\nNext paragraph',
    )

    page = as_user(client, doctor).get(f"/m/{message.pk}/").content.decode()

    for markup in ("<script>", "<img src=x", "<b>Co</b>", "<i>Smith</i>"):
        assert markup not in page
    assert (
        '<div class="body"><p>&lt;script&gt;alert(&quot;body&quot;)&lt;/script&gt;<br>'
        "Second line &amp; more</p>\n\n<p>Next paragraph</p>"
    ) in page
    assert "<strong>Dr. Jane &lt;img src=x onerror=&quot;alert(1)&quot;&gt;</strong>" in page
    assert "· Smiles &amp; &lt;b&gt;Co&lt;/b&gt;" in page
    assert "to Pat &lt;i&gt;Smith&lt;/i&gt; ·" in page
    label = 'aria-label="Message from Dr. Jane &lt;img src=x onerror=&quot;alert(1)&quot;&gt;"'
    assert label in page
    # The slip's row names the recipient as typed (text_of unescapes the cell).
    [[[name, *_]]] = [
        rows for rows in _slips(as_user(client, doctor).get(f"/m/{message.pk}/")).values() if rows
    ]
    assert name == "Pat <i>Smith</i>"
