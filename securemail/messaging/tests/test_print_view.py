"""The print view (SPEC §4): a conversation on a clean page for paper or PDF records, every
message the reader can see in order, dates in the reader's time zone, no navigation (its one
button, Export as PDF, is not printed); out of reach is a 404, and printing counts as viewing
(audited, marked read)."""

import re
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from securemail.accounts.models import User
from securemail.audit.models import AuditEvent
from securemail.messaging.models import Delivery, Message
from securemail.messaging.services import reply
from securemail.messaging.tests.helpers import (
    BODY,
    SUBJECT,
    as_user,
    send,
    send_with_files,
    text_of,
)

pytestmark = pytest.mark.django_db

FIRST_REPLY = "The swelling went down after two days, thank you."
SECOND_REPLY = "Good to hear. See you at the check-up on Friday."
VIEW_EVENT = "messaging:message:view"


def _at(moment: datetime, action: Any) -> Any:
    with time_machine.travel(moment, tick=False):
        return action()


def _thread(doctor: User, patient: User) -> tuple[datetime, list[Message]]:
    """Doctor → patient (with a file) at 15:30 UTC yesterday; the patient replies at 17:30,
    the doctor again at 18:40. Returns the first send time and the three messages."""
    start = (timezone.now() - timedelta(days=1)).replace(
        hour=15, minute=30, second=0, microsecond=0
    )
    root = _at(
        start,
        lambda: send_with_files(doctor, patient, files={"post-op-care.pdf": b"%PDF-1.7\n" * 200}),
    )
    first = _at(
        start + timedelta(hours=2),
        lambda: reply(sender=patient, parent=root, body=FIRST_REPLY, client_token=uuid.uuid4()),
    )
    second = _at(
        start + timedelta(hours=3, minutes=10),
        lambda: reply(sender=doctor, parent=first, body=SECOND_REPLY, client_token=uuid.uuid4()),
    )
    return start, [root, first, second]


def _set_zone(user: User, zone: str) -> None:
    user.time_zone = zone
    user.save(update_fields=["time_zone"])


def _dates(html: str) -> list[str]:
    return [text_of(d) for d in re.findall(r"<strong>Date:</strong>(.*?)</p>", html, flags=re.S)]


def _day(moment: datetime) -> str:
    return f"{moment:%B} {moment.day}, {moment.year}"


def test_the_whole_conversation_prints_in_order_with_dates_in_the_readers_time_zone(
    login: Any, doctor: User, patient: User
) -> None:
    _set_zone(patient, "Asia/Tokyo")  # UTC+9 all year
    _set_zone(doctor, "America/Phoenix")  # UTC-7 all year
    start, (root, _first, _second) = _thread(doctor, patient)
    client = login(patient)

    response = client.get(f"/m/{root.pk}/print/")

    assert response.status_code == 200
    html = response.content.decode()
    text = text_of(html)
    assert f"<title>{SUBJECT} · SecureMail</title>" in html
    assert f"<h1>{SUBJECT}</h1>" in html
    # Oldest first, each message once.
    positions = [text.index(body) for body in (BODY, FIRST_REPLY, SECOND_REPLY)]
    assert positions == sorted(positions)
    assert [text.count(body) for body in (BODY, FIRST_REPLY, SECOND_REPLY)] == [1, 1, 1]
    assert html.count('<section class="message">') == 3
    assert "From: Dr. Jane Roe, Bright Smiles Dental" in text
    assert f"To: Pat Smith <{patient.email}>" in text
    assert "Attachments: post-op-care.pdf (1.8 KB)" in text
    # 15:30 UTC is 00:30 the next day in Tokyo.
    next_day = _day(start + timedelta(days=1))
    assert _dates(html) == [
        f"{next_day} 12:30 AM JST",
        f"{next_day} 2:30 AM JST",
        f"{next_day} 3:40 AM JST",
    ]
    assert "Printed from SecureMail by Pat Smith on" in text
    assert "JST. Confidential: contains protected health information." in text

    # The doctor prints the same conversation in their own time zone.
    doctors = as_user(client, doctor).get(f"/m/{root.pk}/print/").content.decode()
    assert _dates(doctors) == [
        f"{_day(start)} 8:30 AM MST",
        f"{_day(start)} 10:30 AM MST",
        f"{_day(start)} 11:40 AM MST",
    ]
    assert "Printed from SecureMail by Dr. Jane Roe on" in text_of(doctors)


def test_printing_from_a_reply_prints_the_whole_conversation(
    login: Any, doctor: User, patient: User
) -> None:
    _, (root, _first, second) = _thread(doctor, patient)

    from_reply = login(patient).get(f"/m/{second.pk}/print/")
    from_root = login(patient).get(f"/m/{root.pk}/print/")

    assert from_reply.status_code == 200
    text = text_of(from_reply.content.decode())
    assert [body in text for body in (BODY, FIRST_REPLY, SECOND_REPLY)] == [True] * 3
    assert f"<h1>{SUBJECT}</h1>" in from_reply.content.decode()
    assert _dates(from_reply.content.decode()) == _dates(from_root.content.decode())


def test_the_print_page_has_no_navigation_forms_or_scripts(
    login: Any, doctor: User, patient: User
) -> None:
    message = send(doctor, patient)
    client = login(patient)
    # Control: the conversation page itself has the navigation.
    normal = client.get(f"/m/{message.pk}/").content.decode()
    assert 'href="/compose/"' in normal or ">Inbox" in normal

    html = client.get(f"/m/{message.pk}/print/").content.decode()

    assert "<nav" not in html
    # One form: Export as PDF, which the print stylesheet hides on paper.
    assert html.count("<form") == 1
    assert html.count("<button") == 1
    assert f'<form method="post" action="/m/{message.pk}/export/" class="screen-only">' in html
    assert "@media print { .screen-only { display: none; } }" in (
        Path(settings.BASE_DIR, "securemail/static/print.css").read_text()
    )
    assert "<script" not in html
    assert 'href="/compose/"' not in html
    assert 'href="/"' not in html
    assert "Compose" not in text_of(html)
    assert "Inbox" not in text_of(html)
    assert "Sign out" not in text_of(html)
    # Its only stylesheet is the print one.
    assert re.findall(r'<link rel="stylesheet" href="([^"]+)"', html) == ["/static/print.css"]


def test_the_print_page_escapes_what_people_typed(login: Any, doctor: User, patient: User) -> None:
    message = send(
        doctor,
        patient,
        subject="<img src=x onerror=alert(1)>",
        body="Use <b>twice</b> daily.\n<script>alert(2)</script>",
    )

    html = login(patient).get(f"/m/{message.pk}/print/").content.decode()

    assert "<img src=x" not in html
    assert "<script>alert(2)" not in html
    assert "<b>twice</b>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "Use &lt;b&gt;twice&lt;/b&gt; daily." in html


def test_printing_is_audited_as_a_view_of_every_message_and_marks_them_read(
    login: Any, doctor: User, patient: User
) -> None:
    _, (root, first, second) = _thread(doctor, patient)
    assert Delivery.objects.get(message=root, recipient=patient).read_at is None

    response = login(patient).get(f"/m/{root.pk}/print/")

    assert response.status_code == 200
    events = list(AuditEvent.objects.filter(event=VIEW_EVENT))
    assert {(e.actor_id, e.target) for e in events} == {
        (patient.pk, f"message:{m.pk}") for m in (root, first, second)
    }
    assert len(events) == 3
    # No PHI in the audit entries.
    assert not any(SUBJECT in str(e.data) or BODY in str(e.data) for e in events)
    assert Delivery.objects.get(message=root, recipient=patient).read_at is not None
    assert Delivery.objects.get(message=second, recipient=patient).read_at is not None


def test_the_print_page_is_not_kept_by_browsers_or_proxies(
    login: Any, doctor: User, patient: User
) -> None:
    message = send(doctor, patient)

    response = login(patient).get(f"/m/{message.pk}/print/")

    assert response["Cache-Control"] == "no-store"


def test_each_reader_prints_only_the_messages_they_can_see(
    login: Any, doctor: User, staff: User, patient: User
) -> None:
    root = send(doctor, patient, staff)
    # The patient's reply goes to the doctor only; the staff member never received it.
    reply(sender=patient, parent=root, body=FIRST_REPLY, client_token=uuid.uuid4())

    staff_copy = text_of(login(staff).get(f"/m/{root.pk}/print/").content.decode())
    doctors_copy = text_of(login(doctor).get(f"/m/{root.pk}/print/").content.decode())

    assert BODY in staff_copy
    assert FIRST_REPLY not in staff_copy
    assert FIRST_REPLY in doctors_copy


@pytest.mark.parametrize("persona", ["outsider", "other_doctor", "free_staff"])
def test_anyone_outside_the_conversation_gets_a_404_and_nothing_is_audited(
    persona: str, request: Any, login: Any, doctor: User, patient: User
) -> None:
    message = send(doctor, patient)
    client = login(request.getfixturevalue(persona))

    theirs = client.get(f"/m/{message.pk}/print/")
    missing = client.get(f"/m/{uuid.uuid4()}/print/")

    assert theirs.status_code == missing.status_code == 404
    assert theirs.content == missing.content
    assert SUBJECT.encode() not in theirs.content
    assert BODY.encode() not in theirs.content
    assert client.get("/m/not-a-uuid/print/").status_code == 404
    assert not AuditEvent.objects.filter(event=VIEW_EVENT).exists()
    assert Delivery.objects.get(message=message).read_at is None


def test_a_message_the_reader_deleted_from_their_mailbox_no_longer_prints(
    login: Any, doctor: User, patient: User
) -> None:
    message = send(doctor, patient)
    client = login(patient)
    assert client.post(f"/m/{message.pk}/hide/").status_code == 302

    assert client.get(f"/m/{message.pk}/print/").status_code == 404
    # The sender still prints their copy.
    assert as_user(client, doctor).get(f"/m/{message.pk}/print/").status_code == 200


def test_an_anonymous_visitor_is_sent_to_log_in(client: Any, doctor: User, patient: User) -> None:
    message = send(doctor, patient)

    response = client.get(f"/m/{message.pk}/print/")

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next=/m/{message.pk}/print/"
    assert not AuditEvent.objects.filter(event=VIEW_EVENT).exists()


def test_the_print_view_takes_gets_only(login: Any, doctor: User, patient: User) -> None:
    message = send(doctor, patient)

    assert login(patient).post(f"/m/{message.pk}/print/").status_code == 405
    assert not AuditEvent.objects.filter(event=VIEW_EVENT).exists()
