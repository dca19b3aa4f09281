"""Reading and replying (SPEC §4): who sees a message, read state, reply recipients,
expiry, and the inbox list."""

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from securemail.accounts.models import User
from securemail.audit.models import AuditEvent
from securemail.messaging.content import open_content
from securemail.messaging.models import Delivery, Message
from securemail.messaging.services import expire_due_messages
from securemail.messaging.tests.helpers import BODY, SUBJECT, outbox_payloads, send, unread_badge
from securemail.notifications.models import OutboxEmail
from tests.support import client_token

pytestmark = pytest.mark.django_db

REPLY = "The rinse stings a little. Should I keep going?"


# --- who sees a message -----------------------------------------------------------------


@pytest.mark.parametrize("persona", ["outsider", "other_doctor", "free_staff"])
def test_someone_else_gets_the_same_404_as_for_a_missing_message(
    persona: str, request: Any, login: Any, doctor: User, patient: User
) -> None:
    message = send(doctor, patient)
    client = login(request.getfixturevalue(persona))

    theirs = client.get(f"/m/{message.pk}/")
    missing = client.get(f"/m/{uuid.uuid4()}/")
    malformed = client.get("/m/not-a-message-id/")

    assert theirs.status_code == missing.status_code == malformed.status_code == 404
    assert theirs.content == missing.content == malformed.content
    assert SUBJECT.encode() not in theirs.content
    # Replying to it is a 404 too, and sends nothing.
    response = client.post(
        f"/m/{message.pk}/reply/", {"body": REPLY, "client_token": str(uuid.uuid4())}
    )
    assert response.status_code == 404
    assert Message.objects.count() == 1
    assert not AuditEvent.objects.filter(event="messaging:message:view").exists()


def test_anonymous_visitor_is_sent_to_log_in_for_a_message(
    client: Any, doctor: User, patient: User
) -> None:
    message = send(doctor, patient)

    response = client.get(f"/m/{message.pk}/")

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next=/m/{message.pk}/"


def test_recipient_reads_the_message_and_the_view_is_audited(
    login: Any, doctor: User, patient: User
) -> None:
    message = send(doctor, patient)

    page = login(patient).get(f"/m/{message.pk}/")

    assert page.status_code == 200
    content = page.content.decode()
    assert SUBJECT in content
    assert BODY in content
    assert "Dr. Jane Roe" in content
    assert "Bright Smiles Dental" in content
    event = AuditEvent.objects.get(event="messaging:message:view")
    assert event.actor_id == patient.pk
    assert event.target == f"message:{message.pk}"


def test_opening_a_message_marks_it_read_and_the_unread_badge_goes_down(
    login: Any, doctor: User, patient: User
) -> None:
    first = send(doctor, patient, subject="Appointment moved")
    send(doctor, patient, subject="Lab results")
    client = login(patient)

    inbox = client.get("/")
    assert unread_badge(inbox) == 2
    assert inbox.content.decode().count('class="unread"') == 2

    client.get(f"/m/{first.pk}/")

    inbox = client.get("/")
    assert unread_badge(inbox) == 1
    assert inbox.content.decode().count('class="unread"') == 1
    delivery = Delivery.objects.get(message=first, recipient=patient)
    assert delivery.read_at is not None
    # Reading again keeps the first read time.
    read_at = delivery.read_at
    client.get(f"/m/{first.pk}/")
    delivery.refresh_from_db()
    assert delivery.read_at == read_at


def test_sender_opening_their_own_message_does_not_mark_it_read(
    login: Any, doctor: User, patient: User
) -> None:
    message = send(doctor, patient)

    assert login(doctor).get(f"/m/{message.pk}/").status_code == 200

    assert Delivery.objects.get(message=message).read_at is None


# --- replies ----------------------------------------------------------------------------


def test_free_patients_reply_goes_only_to_the_sender_whatever_the_form_says(
    login: Any, client: Any, doctor: User, staff: User, patient: User, outsider: User
) -> None:
    message = send(doctor, patient, staff)
    OutboxEmail.objects.all().delete()
    client = login(patient)
    page = client.get(f"/m/{message.pk}/")

    # A forged form adds recipients: known, new, as To and as Cc.
    response = client.post(
        f"/m/{message.pk}/reply/",
        {
            "body": REPLY,
            "client_token": client_token(page),
            "to": outsider.email,
            "cc": "someone.new@example.test",
            "recipients": [outsider.email, staff.email],
            "role": "patient",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == f"/m/{message.pk}/"
    answer = Message.objects.get(in_reply_to=message)
    assert answer.sender == patient
    assert answer.thread_root_id == message.pk
    assert [d.recipient for d in answer.deliveries.all()] == [doctor]
    assert open_content(answer).subject == f"Re: {SUBJECT}"
    assert not User.objects.filter(email="someone.new@example.test").exists()
    [(email, payload)] = outbox_payloads()
    assert email.to_email == doctor.email
    assert payload["subject"] == "Pat Smith replied to your secure message"
    event = AuditEvent.objects.get(event="messaging:message:reply")
    assert event.actor_id == patient.pk
    assert event.data["in_reply_to"] == str(message.pk)
    assert event.data["recipients"] == [doctor.pk]

    # The sender sees it in the thread; the co-recipient and the outsider don't.
    client.force_login(doctor, backend="securemail.accounts.backends.EmailBackend")
    assert REPLY.encode() in client.get(f"/m/{message.pk}/").content
    client.force_login(staff, backend="securemail.accounts.backends.EmailBackend")
    assert REPLY.encode() not in client.get(f"/m/{message.pk}/").content
    assert client.get(f"/m/{answer.pk}/").status_code == 404
    client.force_login(outsider, backend="securemail.accounts.backends.EmailBackend")
    assert client.get(f"/m/{answer.pk}/").status_code == 404


def test_free_patient_cannot_reply_to_all(
    login: Any, doctor: User, staff: User, patient: User
) -> None:
    message = send(doctor, patient, staff)
    OutboxEmail.objects.all().delete()
    client = login(patient)
    page = client.get(f"/m/{message.pk}/")
    assert b"Send reply" in page.content
    assert b"Reply to all" not in page.content

    # Posting it anyway is refused, and nothing is sent to anyone.
    response = client.post(
        f"/m/{message.pk}/reply/",
        {"body": REPLY, "client_token": client_token(page), "reply_all": "on"},
    )

    assert response.status_code == 403
    assert b"paid feature" in response.content
    assert not Message.objects.filter(in_reply_to=message).exists()
    assert OutboxEmail.objects.count() == 0


def test_paid_recipient_replies_to_all(
    login: Any, doctor: User, staff: User, patient: User
) -> None:
    message = send(doctor, patient, staff)
    client = login(staff)
    page = client.get(f"/m/{message.pk}/")
    assert b"Reply to all" in page.content

    response = client.post(
        f"/m/{message.pk}/reply/",
        {"body": "Booked for Tuesday.", "client_token": client_token(page), "reply_all": "on"},
    )

    assert response.status_code == 302
    answer = Message.objects.get(in_reply_to=message)
    assert {d.recipient for d in answer.deliveries.all()} == {doctor, patient}


def test_sender_replying_to_their_own_message_reaches_all_its_recipients(
    login: Any, doctor: User, staff: User, patient: User
) -> None:
    message = send(doctor, patient, staff)

    response = login(doctor).post(
        f"/m/{message.pk}/reply/", {"body": "One more thing.", "client_token": str(uuid.uuid4())}
    )

    assert response.status_code == 302
    answer = Message.objects.get(in_reply_to=message)
    assert {d.recipient for d in answer.deliveries.all()} == {patient, staff}


def test_empty_reply_is_refused_with_a_message(login: Any, doctor: User, patient: User) -> None:
    message = send(doctor, patient)
    OutboxEmail.objects.all().delete()

    response = login(patient).post(
        f"/m/{message.pk}/reply/", {"body": "   ", "client_token": str(uuid.uuid4())}
    )

    assert response.status_code == 400
    assert b"Write your reply." in response.content
    # The thread is still shown above the form.
    assert BODY.encode() in response.content
    assert Message.objects.count() == 1
    assert OutboxEmail.objects.count() == 0


def test_double_submitted_reply_sends_one_reply(login: Any, doctor: User, patient: User) -> None:
    message = send(doctor, patient)
    client = login(patient)
    token = client_token(client.get(f"/m/{message.pk}/"))

    for _ in range(2):
        response = client.post(f"/m/{message.pk}/reply/", {"body": REPLY, "client_token": token})
        assert response.status_code == 302

    assert Message.objects.filter(in_reply_to=message).count() == 1


def test_reply_to_a_reply_goes_back_to_its_author(
    login: Any, client: Any, doctor: User, patient: User
) -> None:
    message = send(doctor, patient)
    login(patient).post(
        f"/m/{message.pk}/reply/", {"body": REPLY, "client_token": str(uuid.uuid4())}
    )
    answer = Message.objects.get(in_reply_to=message)

    client.force_login(doctor, backend="securemail.accounts.backends.EmailBackend")
    response = client.post(
        f"/m/{answer.pk}/reply/", {"body": "Yes, keep going.", "client_token": str(uuid.uuid4())}
    )

    assert response.status_code == 302
    second = Message.objects.get(in_reply_to=answer)
    assert [d.recipient for d in second.deliveries.all()] == [patient]
    assert open_content(second).subject == f"Re: {SUBJECT}"
    assert second.thread_root_id == message.pk


# --- expiry -----------------------------------------------------------------------------


def test_expired_message_is_gone_at_once_and_the_job_deletes_it_for_everyone(
    login: Any, client: Any, doctor: User, patient: User, staff: User
) -> None:
    message = send(doctor, patient, staff)
    login(patient).post(
        f"/m/{message.pk}/reply/", {"body": REPLY, "client_token": str(uuid.uuid4())}
    )
    answer = Message.objects.get(in_reply_to=message)
    # A reply never outlives its conversation.
    assert answer.expires_at == message.expires_at

    with time_machine.travel(message.expires_at - timedelta(minutes=1), tick=False):
        client.force_login(patient, backend="securemail.accounts.backends.EmailBackend")
        assert client.get(f"/m/{message.pk}/").status_code == 200

    with time_machine.travel(message.expires_at + timedelta(minutes=1), tick=False):
        # Before the expiry job has run, nobody can see it any more.
        for user in (patient, staff, doctor):
            client.force_login(user, backend="securemail.accounts.backends.EmailBackend")
            assert client.get(f"/m/{message.pk}/").status_code == 404
            assert client.get(f"/m/{answer.pk}/").status_code == 404
            assert SUBJECT.encode() not in client.get("/").content
            assert SUBJECT.encode() not in client.get("/sent/").content
            assert unread_badge(client.get("/")) == 0
        response = client.post(
            f"/m/{message.pk}/reply/", {"body": "Late", "client_token": str(uuid.uuid4())}
        )
        assert response.status_code == 404
        assert Message.objects.count() == 2

        assert expire_due_messages() == 2

    assert Message.objects.count() == 0
    assert Delivery.objects.count() == 0
    event = AuditEvent.objects.get(event="messaging:message:expire")
    assert event.data == {"count": 2}
    assert expire_due_messages() == 0


def test_expiry_job_leaves_messages_that_are_not_due(doctor: User, patient: User) -> None:
    due = send(doctor, patient, subject="Old")
    doctor.default_expiry_days = 7
    doctor.save()
    later = send(doctor, patient, subject="Newer")
    assert later.expires_at < due.expires_at

    with time_machine.travel(later.expires_at + timedelta(seconds=1), tick=False):
        assert expire_due_messages() == 1

    assert list(Message.objects.all()) == [due]
    assert Delivery.objects.filter(message=due).count() == 1


# --- the inbox --------------------------------------------------------------------------


def _inbox_rows(page: Any) -> list[str]:
    body = page.content.decode().split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<tr.*?</tr>", body, flags=re.S)


def test_inbox_lists_newest_first_with_the_senders_practice(
    login: Any, doctor: User, other_doctor: User, staff: User, patient: User
) -> None:
    start = timezone.now() - timedelta(hours=3)
    for hours, sender, subject in [
        (0, doctor, "Oldest"),
        (1, other_doctor, "Middle"),
        (2, staff, "Newest"),
    ]:
        with time_machine.travel(start + timedelta(hours=hours), tick=False):
            send(sender, patient, subject=subject)

    rows = _inbox_rows(login(patient).get("/"))

    assert len(rows) == 3
    assert "Newest" in rows[0]
    assert "Sam Front" in rows[0]
    assert "Bright Smiles Dental" in rows[0]
    assert "Middle" in rows[1]
    assert "Dr. Omar Lee" in rows[1]
    assert "Lakeside Oral Surgery" in rows[1]
    assert "Oldest" in rows[2]
    assert "Dr. Jane Roe" in rows[2]
    assert "Bright Smiles Dental" in rows[2]


def test_inbox_does_not_list_messages_sent_to_others(
    login: Any, doctor: User, patient: User, staff: User
) -> None:
    send(doctor, staff, subject="For staff only")
    send(doctor, patient, subject="For the patient")

    page = login(patient).get("/")

    assert b"For the patient" in page.content
    assert b"For staff only" not in page.content


def _queries_for(client: Any, path: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("path", ["/", "/sent/"])
def test_mailbox_page_query_count_does_not_grow_with_the_number_of_messages(
    path: str,
    login: Any,
    doctor: User,
    other_doctor: User,
    staff: User,
    patient: User,
    free_staff: User,
) -> None:
    # The inbox of `patient` and the Sent folder of `doctor`, with varied senders,
    # recipients and practices.
    def add(count: int) -> None:
        for n in range(count):
            send(doctor, patient, free_staff if n % 2 else staff, subject=f"To patient {n}")
            sender = other_doctor if n % 2 else staff
            send(sender, patient, subject=f"From others {n}")

    add(5)
    client = login(patient if path == "/" else doctor)
    few = _queries_for(client, path)
    add(25)
    many = _queries_for(client, path)

    assert many == few
    assert b"To patient 24" in client.get(path).content


def test_the_conversation_pages_links_are_the_routes_addresses(
    login: Any, doctor: User, patient: User
) -> None:
    # Reversed once per pattern (views.common.message_route), filled per message.
    from django.urls import reverse

    from securemail.messaging.views.common import THREAD_LINKS, TOOLS_LINKS, message_route

    message = send(doctor, patient)
    # The sender's page has the sender's tools; the recipient's, archive and delete.
    page = login(doctor).get(f"/m/{message.pk}/").content.decode()
    page += login(patient).get(f"/m/{message.pk}/").content.decode()
    for name in (*THREAD_LINKS, *TOOLS_LINKS):
        address = reverse(f"messaging:{name}", kwargs={"message_id": message.pk})
        assert message_route(f"messaging:{name}", message.pk) == address
        assert f'"{address}"' in page, name
