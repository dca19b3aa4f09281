"""Folders (SPEC §4): Inbox, Archive, Sent and Drafts, the unread count, keyset paging, and
a constant number of queries per page whatever the mailbox's size."""

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from securemail.accounts.models import User
from securemail.audit.models import AuditEvent
from securemail.messaging.models import Delivery, Message
from securemail.messaging.tests.helpers import (
    SUBJECT,
    as_user,
    link_labelled,
    mailbox_rows,
    queries_for,
    send,
    unread_badge,
)

pytestmark = pytest.mark.django_db

FOLDERS = ["/", "/archive/", "/sent/", "/drafts/"]


def _subjects(page: Any) -> list[str]:
    return [re.search(r"(Message \d{3})", row).group(1) for row in mailbox_rows(page)]  # type: ignore[union-attr]


def _mailbox_of(count: int, sender: User, recipient: User) -> list[str]:
    """`count` messages one minute apart; their subjects, newest first."""
    start = timezone.now() - timedelta(minutes=count + 5)
    for n in range(count):
        with time_machine.travel(start + timedelta(minutes=n), tick=False):
            send(sender, recipient, subject=f"Message {n:03d}")
    return [f"Message {n:03d}" for n in reversed(range(count))]


# --- the folders ------------------------------------------------------------------------


@pytest.mark.parametrize("path", FOLDERS)
def test_anonymous_visitor_is_sent_to_log_in_for_every_folder(client: Any, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={path}"


def test_each_folder_shows_what_belongs_in_it(
    login: Any, doctor: User, staff: User, patient: User
) -> None:
    received = send(doctor, staff, subject="Crown prep on Tuesday")
    send(staff, patient, subject="Your appointment is confirmed")
    archived = send(doctor, staff, subject="Old lab invoice")
    Delivery.objects.filter(message=archived).update(archived_at=timezone.now())
    client = login(staff)
    client.post(
        "/compose/draft/", {"to": doctor.email, "subject": "Half-written note", "body": "So far"}
    )

    inbox = client.get("/").content.decode()
    archive = client.get("/archive/").content.decode()
    sent = client.get("/sent/").content.decode()
    drafts = client.get("/drafts/").content.decode()

    assert "Crown prep on Tuesday" in inbox
    assert "Old lab invoice" not in inbox
    assert "Your appointment is confirmed" not in inbox
    assert "Old lab invoice" in archive
    assert "Crown prep on Tuesday" not in archive
    assert "Your appointment is confirmed" in sent
    assert "Pat Smith" in sent
    assert "Crown prep on Tuesday" not in sent
    assert "Half-written note" in drafts
    assert doctor.email in drafts
    assert f'href="/m/{received.pk}/"' in inbox


def test_empty_folders_say_so(login: Any, patient: User) -> None:
    client = login(patient)

    assert b"No messages." in client.get("/").content
    assert b"Nothing archived." in client.get("/archive/").content
    assert b"You haven't sent any messages yet." in client.get("/sent/").content
    assert b"No drafts." in client.get("/drafts/").content


def test_archiving_moves_a_message_to_the_archive_and_back_with_audit_entries(
    login: Any, doctor: User, patient: User
) -> None:
    message = send(doctor, patient)
    client = login(patient)
    assert b"Archive</button>" in client.get(f"/m/{message.pk}/").content

    response = client.post(f"/m/{message.pk}/archive/", {"archived": "1"})

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert SUBJECT.encode() not in client.get("/").content
    assert SUBJECT.encode() in client.get("/archive/").content
    assert Delivery.objects.get(message=message).archived_at is not None
    event = AuditEvent.objects.get(event="messaging:message:archive")
    assert (event.actor_id, event.target) == (patient.pk, f"message:{message.pk}")
    # The archived message offers the way back.
    assert b"Move to Inbox</button>" in client.get(f"/m/{message.pk}/").content

    response = client.post(f"/m/{message.pk}/archive/", {"archived": "0"})

    assert response.status_code == 302
    assert response["Location"] == "/archive/"
    assert SUBJECT.encode() in client.get("/").content
    assert SUBJECT.encode() not in client.get("/archive/").content
    assert Delivery.objects.get(message=message).archived_at is None
    event = AuditEvent.objects.get(event="messaging:message:unarchive")
    assert (event.actor_id, event.target) == (patient.pk, f"message:{message.pk}")
    # The sender's copy is untouched throughout.
    assert SUBJECT.encode() in as_user(client, doctor).get("/sent/").content


def test_the_sender_has_nothing_to_archive(login: Any, doctor: User, patient: User) -> None:
    message = send(doctor, patient)

    response = login(doctor).post(f"/m/{message.pk}/archive/", {"archived": "1"})

    assert response.status_code == 403
    assert Delivery.objects.get(message=message).archived_at is None
    assert not AuditEvent.objects.filter(event="messaging:message:archive").exists()


def test_opening_a_conversation_marks_all_its_messages_read(
    login: Any, client: Any, doctor: User, patient: User
) -> None:
    first = send(doctor, patient, subject="Post-op instructions")
    send(doctor, patient, subject="Invoice")
    for n in range(2):
        as_user(client, doctor).post(
            f"/m/{first.pk}/reply/", {"body": f"Also {n}", "client_token": str(uuid.uuid4())}
        )
    as_user(client, patient)
    assert unread_badge(client.get("/")) == 4

    client.get(f"/m/{first.pk}/")

    # The conversation (its first message and both replies) is read; "Invoice" is not.
    assert unread_badge(client.get("/")) == 1
    assert Delivery.objects.filter(recipient=patient, read_at__isnull=True).count() == 1


def test_the_unread_badge_leaves_out_what_the_recipient_deleted(
    login: Any, doctor: User, patient: User
) -> None:
    kept = send(doctor, patient, subject="Kept")
    deleted = send(doctor, patient, subject="Deleted")
    client = login(patient)
    assert unread_badge(client.get("/")) == 2

    client.post(f"/m/{deleted.pk}/hide/")

    assert unread_badge(client.get("/")) == 1
    client.get(f"/m/{kept.pk}/")
    assert unread_badge(client.get("/")) == 0
    assert b'<span class="badge"' not in client.get("/").content


# --- paging -----------------------------------------------------------------------------


def test_inbox_pages_through_120_messages_fifty_at_a_time_without_gaps_or_overlaps(
    login: Any, doctor: User, patient: User
) -> None:
    newest_first = _mailbox_of(120, doctor, patient)
    client = login(patient)

    first = client.get("/")
    assert _subjects(first) == newest_first[:50]
    assert link_labelled(first, "← Newer") is None
    older = link_labelled(first, "Older →")
    assert older is not None

    second = client.get(older)
    assert second.status_code == 200
    assert _subjects(second) == newest_first[50:100]
    older = link_labelled(second, "Older →")
    assert older is not None

    third = client.get(older)
    assert _subjects(third) == newest_first[100:]
    assert link_labelled(third, "Older →") is None

    # And back: "← Newer" retraces the same pages.
    newer = link_labelled(third, "← Newer")
    assert newer is not None
    back_to_second = client.get(newer)
    assert _subjects(back_to_second) == newest_first[50:100]
    newer = link_labelled(back_to_second, "← Newer")
    assert newer is not None
    back_to_first = client.get(newer)
    assert _subjects(back_to_first) == newest_first[:50]
    assert link_labelled(back_to_first, "← Newer") is None
    assert link_labelled(back_to_first, "Older →") is not None


def test_sent_folder_pages_the_same_way(login: Any, doctor: User, patient: User) -> None:
    newest_first = _mailbox_of(60, doctor, patient)
    client = login(doctor)

    first = client.get("/sent/")
    older = link_labelled(first, "Older →")
    assert older is not None
    second = client.get(older)

    assert _subjects(first) == newest_first[:50]
    assert _subjects(second) == newest_first[50:]
    assert link_labelled(second, "Older →") is None
    assert link_labelled(second, "← Newer") is not None


@pytest.mark.parametrize("path", ["/", "/archive/", "/sent/"])
@pytest.mark.parametrize(
    "cursor",
    [
        "before=garbage",
        "before=~",
        "before=1790000000000000~not-a-key",
        "before=99999999999999999999999999~1",
        "before=-99999999999999999999~1",
        "before=4102444800000000~99999999999999999999999999",
        # A well-formed key of no message (fixed: parallel workers must collect the same ids).
        "before=4102444800000000~d4f6b40f-0a30-47de-bfb2-df5e5de01c7f",
        "after=abc~def",
        "after=1790000000000000~",
    ],
)
def test_a_malformed_cursor_shows_the_first_page(
    path: str, cursor: str, login: Any, doctor: User, patient: User
) -> None:
    message = send(doctor, patient)
    if path == "/archive/":
        Delivery.objects.update(archived_at=timezone.now())
    client = login(doctor if path == "/sent/" else patient)

    response = client.get(f"{path}?{cursor}")

    assert response.status_code == 200
    assert f'href="/m/{message.pk}/"' in response.content.decode()


# --- queries per page -------------------------------------------------------------------


def test_inbox_queries_do_not_grow_with_the_mailbox_or_the_page(
    login: Any, doctor: User, other_doctor: User, staff: User, patient: User
) -> None:
    client = login(patient)
    for n in range(5):
        send(doctor if n % 2 else other_doctor, patient, staff, subject=f"Message {n:03d}")
    few = queries_for(client, "/")
    # A patient's inbox: the session, the account, the page's lines, the failed-payment
    # banner, and the menu's unread badge and storage meter in one statement.
    assert few == 5

    _mailbox_of(115, staff, patient)
    first = client.get("/")
    second = client.get(link_labelled(first, "Older →"))  # type: ignore[arg-type]
    third_path = link_labelled(second, "Older →")
    assert third_path is not None
    assert len(mailbox_rows(client.get(third_path))) == 20

    assert queries_for(client, "/") == few
    assert queries_for(client, third_path) == few


def _thread_of(count: int, doctor: User, patient: User, client: Any) -> Message:
    """A conversation of `count` messages, doctor and patient taking turns."""
    first = send(doctor, patient)
    for n in range(count - 1):
        as_user(client, patient if n % 2 == 0 else doctor).post(
            f"/m/{first.pk}/reply/", {"body": f"Turn {n}", "client_token": str(uuid.uuid4())}
        )
    assert Message.objects.filter(pk=first.pk).count() + first.thread_replies.count() == count
    return first


@pytest.mark.parametrize("reader", ["doctor", "patient"])
def test_conversation_page_queries_do_not_grow_with_the_conversation(
    reader: str, request: Any, client: Any, doctor: User, patient: User
) -> None:
    short = _thread_of(2, doctor, patient, client)
    long = _thread_of(12, doctor, patient, client)
    as_user(client, request.getfixturevalue(reader))

    # Unread and read again: the first opening writes the read marks.
    assert queries_for(client, f"/m/{long.pk}/") == queries_for(client, f"/m/{short.pk}/")
    assert queries_for(client, f"/m/{long.pk}/") == queries_for(client, f"/m/{short.pk}/")
    assert client.get(f"/m/{long.pk}/").content.decode().count("Turn ") == 11


def test_a_conversation_loads_in_one_round_trip_whatever_its_length(
    client: Any, doctor: User, patient: User
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from securemail.messaging import access

    long = _thread_of(6, doctor, patient, client)
    reply = Message.objects.filter(thread_root=long).order_by("-sent_at").first()
    assert reply is not None

    for opened in (long, reply):
        with CaptureQueriesContext(connection) as queries:
            message, thread = access.access_thread(patient, opened.pk)
        # Its rows (the root found by a subquery), deliveries, people and attachments: one
        # statement on PostgreSQL (core.rows.fetch_together), one each on SQLite.
        assert len(queries) == (1 if connection.vendor == "postgresql" else 4)
        assert message.pk == opened.pk
        assert len(thread) == 6
        # Everything the page prints of them came with it.
        with CaptureQueriesContext(connection) as later:
            people = [
                (m.sender.display_name, m.sender.practice.name if m.sender.practice else "")
                for m in thread
            ]
            recipients = [d.recipient.email for m in thread for d in access.deliveries_of(m)]
            files = [a.pk for m in thread for a in access.attachments_of(m)]
        assert len(later) == 0
        assert people[0] == (doctor.display_name, doctor.practice.name)
        assert set(recipients) == {patient.email, doctor.email}
        assert files == []


def test_a_rows_phone_date_is_the_time_today_and_the_day_before(
    login: Any, doctor: User, patient: User
) -> None:
    """Issue 13: on a phone a mailbox row shows the time for today's messages, the day for
    older ones (the `compact` date the phone layout shows in place of the full one)."""
    day_before = timezone.now() - timedelta(days=2)
    with time_machine.travel(day_before, tick=False):
        send(doctor, patient, subject="Older one")
    send(doctor, patient, subject="Today's")
    client = login(patient)

    compact = re.findall(r'<span class="compact">([^<]*)</span>', client.get("/").content.decode())

    assert len(compact) == 2
    assert all(compact), compact
    assert re.fullmatch(r"\d{1,2}:\d{2} [AP]M", compact[0]), compact
    assert re.fullmatch(r"[A-Z][a-z]{2} \d{1,2}(, \d{4})?", compact[1]), compact
    sent = login(doctor).get("/sent/").content.decode()
    assert all(re.findall(r'<span class="compact">([^<]*)</span>', sent))


def test_markup_people_typed_shows_as_text_on_every_mailbox_line(
    login: Any, doctor: User, patient: User
) -> None:
    # The lines are written as markup in Python (views/mailbox.py's LINE_HTML): every value
    # a person typed (a subject, a name, a practice's name) is escaped there.
    User.objects.filter(pk=doctor.pk).update(full_name='Dr <img src=x onerror="alert(1)">')
    doctor.practice.name = "Smiles & <b>Co</b>"
    doctor.practice.save()
    doctor.refresh_from_db()
    send(doctor, patient, subject='<script>alert("subject")</script> & more')

    inbox = login(patient).get("/").content.decode()
    for markup in ("<script>", "<img src=x", "<b>Co</b>"):
        assert markup not in inbox
    assert "&lt;script&gt;alert(&quot;subject&quot;)&lt;/script&gt; &amp; more" in inbox
    assert "Dr &lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in inbox
    assert "Smiles &amp; &lt;b&gt;Co&lt;/b&gt;" in inbox
    sent = login(doctor).get("/sent/").content.decode()
    assert "<script>" not in sent
    assert "&lt;script&gt;alert(&quot;subject&quot;)&lt;/script&gt; &amp; more" in sent
