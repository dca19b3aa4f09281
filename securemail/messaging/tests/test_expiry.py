"""Expiry (SPEC §4, README "The mailbox"): every message deletes itself for everyone at most
30 days after it is sent. The default comes from the profile, compose can choose another,
and the sender can move it after sending; lists and threads show the date in the reader's
time zone; the read path refuses an expired message before the worker deletes it."""

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from securemail.accounts.models import User
from securemail.audit.models import AuditEvent
from securemail.messaging import services
from securemail.messaging.models import Attachment, AttachmentDownload, Delivery, Message
from securemail.messaging.services import expire_due_messages
from securemail.messaging.tests.helpers import (
    BODY,
    SUBJECT,
    as_user,
    blob_files,
    compose,
    mailbox_rows,
    send,
    send_with_files,
    text_of,
    unread_badge,
)
from securemail.notifications.models import OutboxEmail
from tests.support import attachment_url, downloaded, encrypted_upload, frozen_clock

# A file store of each test's own, so blob_files() is exactly this test's files.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("own_files")]

# Mid-afternoon UTC (11 AM in New York, the personas' time zone).
SENT_AT = datetime(2031, 5, 6, 15, 0, tzinfo=UTC)
NEW_YORK = ZoneInfo("America/New_York")
REPLY = "The swelling went down overnight."
XRAY = b"\x89PNG\r\n\x1a\n periapical radiograph " * 500


@pytest.fixture
def clock(tmp_path: Path) -> Iterator[Any]:
    """Time frozen at SENT_AT, with a shredding ratchet of this test's own: the test moves
    the clock, and must not leave the suite's ratchet in 2031."""
    with frozen_clock(SENT_AT, tmp_path) as traveller:
        yield traveller


def _thread_meta(page: Any) -> list[str]:
    """The "deleted for everyone on …" part of each message's header on a thread page."""
    return re.findall(
        r"deleted for everyone on ([A-Z][a-z]{2} \d{1,2}, \d{4})", page.content.decode()
    )


def _deleted_on_column(page: Any) -> list[str]:
    """The last ("Deleted on") cell of each row of a folder page."""
    return [
        text_of(re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)[-1])
        for row in mailbox_rows(page)
    ]


def _expiry_events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(event="messaging:message:expiry").order_by("id"))


# --- choosing the expiry when sending -----------------------------------------------------


def test_the_profiles_default_expiry_applies_to_a_new_message(
    login: Any, doctor: User, patient: User
) -> None:
    client = login(doctor)
    response = client.post(
        "/accounts/profile/",
        {
            "full_name": doctor.full_name,
            "office_phone": "",
            "time_zone": doctor.time_zone,
            "signature": "",
            "default_expiry_days": "5",
            "notify_by": User.Notify.EMAIL,
        },
    )
    assert response.status_code == 302
    doctor.refresh_from_db()
    assert doctor.default_expiry_days == 5

    # Compose offers the profile's default...
    page = client.get("/compose/").content.decode()
    assert re.search(r'<option value="5" selected>5 days</option>', page)
    assert not re.search(r'<option value="30" selected>', page)
    # ...and a message sent without choosing gets it.
    response = compose(client, to=patient.email)
    assert response.status_code == 302
    message = Message.objects.get()
    assert message.expires_at - message.sent_at == timedelta(days=5)
    assert Delivery.objects.get(message=message).expires_at == message.expires_at


def test_an_expiry_chosen_on_compose_is_kept(login: Any, doctor: User, patient: User) -> None:
    response = compose(login(doctor), to=patient.email, expiry_days="3")

    assert response.status_code == 302
    message = Message.objects.get()
    assert message.expires_at - message.sent_at == timedelta(days=3)
    assert Delivery.objects.get(message=message).expires_at == message.expires_at
    # The choice is for this message only: the profile's default stays.
    doctor.refresh_from_db()
    assert doctor.default_expiry_days == 30


@pytest.mark.parametrize("days", ["31", "0", "365"])
def test_compose_refuses_an_expiry_outside_1_to_30_days_with_a_clear_message(
    login: Any, doctor: User, patient: User, days: str
) -> None:
    response = compose(login(doctor), to=patient.email, expiry_days=days)

    assert response.status_code == 400
    assert "a message can&#x27;t be kept more than 30 days" in response.content.decode()
    assert not Message.objects.exists()
    assert not OutboxEmail.objects.exists()


# --- changing it after sending ------------------------------------------------------------


def test_the_sender_moves_the_expiry_and_every_recipient_sees_the_new_date(
    clock: Any, login: Any, client: Any, doctor: User, patient: User, staff: User
) -> None:
    message = send(doctor, patient, staff)
    clock.move_to(SENT_AT + timedelta(hours=1))
    services.reply(sender=patient, parent=message, body=REPLY, client_token=uuid.uuid4())
    answer = Message.objects.get(in_reply_to=message)
    assert _thread_meta(as_user(client, patient).get(f"/m/{message.pk}/")) == [
        "Jun 5, 2031",
        "Jun 5, 2031",
    ]

    response = as_user(client, doctor).post(
        f"/m/{message.pk}/expiry/", {"expires_on": "2031-05-20"}
    )

    assert response.status_code == 302
    assert response["Location"] == f"/m/{message.pk}/"
    assert "The deletion date was changed." in client.get(response["Location"]).content.decode()
    # The end of that day where the sender is.
    new = datetime(2031, 5, 20, 23, 59, tzinfo=NEW_YORK)
    message.refresh_from_db()
    answer.refresh_from_db()
    assert message.expires_at == new
    # A reply never outlives its conversation: it moved too.
    assert answer.expires_at == new
    assert set(Delivery.objects.values_list("expires_at", flat=True)) == {new}
    for reader in (patient, staff):
        as_user(client, reader)
        page = client.get(f"/m/{message.pk}/")
        assert page.status_code == 200
        # Re-wrapped under the new day's key, and still readable.
        assert BODY in page.content.decode()
        assert _thread_meta(page)[0] == "May 20, 2031"
        assert _deleted_on_column(client.get("/")) == ["May 20"]
    [event] = _expiry_events()
    assert event.actor_id == doctor.pk
    assert event.target == f"message:{message.pk}"


def test_the_last_day_allowed_is_30_days_after_sending_to_the_minute(
    clock: Any, login: Any, doctor: User, patient: User
) -> None:
    doctor.default_expiry_days = 7
    doctor.save()
    message = send(doctor, patient)

    response = login(doctor).post(f"/m/{message.pk}/expiry/", {"expires_on": "2031-06-05"})

    assert response.status_code == 302
    message.refresh_from_db()
    # Not the end of June 5 in New York: exactly 30 days after sending.
    assert message.expires_at == SENT_AT + timedelta(days=30)
    assert len(_expiry_events()) == 1


@pytest.mark.parametrize(
    ("expires_on", "error"),
    [
        (
            "2031-06-06",
            "A message can&#x27;t be kept more than 30 days after it was sent: choose "
            "June 5 or earlier.",
        ),
        ("2031-09-01", "choose June 5 or earlier."),
        ("2031-05-05", "Choose a time in the future, or delete the message now."),
        ("next week", "Enter a date like 2026-12-24."),
        ("", "This field is required."),
    ],
)
def test_a_date_the_sender_cannot_choose_is_refused_with_a_clear_message_and_nothing_changes(
    clock: Any, login: Any, doctor: User, patient: User, expires_on: str, error: str
) -> None:
    message = send(doctor, patient)
    before = Message.objects.values_list("expires_at", "wrapped_key").get(pk=message.pk)

    response = login(doctor).post(f"/m/{message.pk}/expiry/", {"expires_on": expires_on})

    assert response.status_code == 400
    page = response.content.decode()
    assert error in page
    # The thread is shown again, with the error next to the date field.
    assert SUBJECT in page
    assert Message.objects.values_list("expires_at", "wrapped_key").get(pk=message.pk) == before
    assert Delivery.objects.get().expires_at == message.expires_at
    assert not _expiry_events()


def test_a_reply_can_never_be_kept_longer_than_its_conversation(
    clock: Any, login: Any, client: Any, doctor: User, patient: User
) -> None:
    doctor.default_expiry_days = 10
    doctor.save()
    message = send(doctor, patient)
    clock.move_to(SENT_AT + timedelta(days=1))
    services.reply(sender=patient, parent=message, body=REPLY, client_token=uuid.uuid4())
    answer = Message.objects.get(in_reply_to=message)
    assert answer.expires_at == message.expires_at

    # Within 30 days of the reply, but after the conversation's own date (May 16).
    response = as_user(client, patient).post(
        f"/m/{answer.pk}/expiry/", {"expires_on": "2031-05-25"}
    )

    assert response.status_code == 400
    assert (
        "A reply can&#x27;t be kept longer than its conversation, which is deleted for "
        "everyone on May 16, 2031." in response.content.decode()
    )
    answer.refresh_from_db()
    assert answer.expires_at == message.expires_at
    assert not _expiry_events()
    # An earlier date is the reply's sender's to choose.
    response = client.post(f"/m/{answer.pk}/expiry/", {"expires_on": "2031-05-10"})
    assert response.status_code == 302
    answer.refresh_from_db()
    assert answer.expires_at == datetime(2031, 5, 10, 23, 59, tzinfo=NEW_YORK)
    message.refresh_from_db()
    assert message.expires_at == SENT_AT + timedelta(days=10)


@pytest.mark.parametrize(("persona", "status"), [("patient", 403), ("staff", 403)])
def test_a_recipient_cannot_change_the_expiry(
    request: Any, login: Any, doctor: User, patient: User, staff: User, persona: str, status: int
) -> None:
    message = send(doctor, patient, staff)
    client = login(request.getfixturevalue(persona))

    page = client.get(f"/m/{message.pk}/").content.decode()
    response = client.post(f"/m/{message.pk}/expiry/", {"expires_on": "2000-01-01"})

    assert "Change deletion date" not in page
    assert response.status_code == status
    assert Message.objects.get().expires_at == message.expires_at
    assert not _expiry_events()


@pytest.mark.parametrize("persona", ["outsider", "other_doctor"])
def test_someone_outside_the_conversation_gets_404_when_changing_the_expiry(
    request: Any, login: Any, doctor: User, patient: User, persona: str
) -> None:
    message = send(doctor, patient)
    client = login(request.getfixturevalue(persona))

    response = client.post(f"/m/{message.pk}/expiry/", {"expires_on": "2000-01-01"})
    missing = client.post(f"/m/{uuid.uuid4()}/expiry/", {"expires_on": "2000-01-01"})

    assert response.status_code == missing.status_code == 404
    assert response.content == missing.content
    assert Message.objects.get().expires_at == message.expires_at
    assert not _expiry_events()


def test_changing_the_expiry_needs_a_login_and_a_post(
    client: Any, login: Any, doctor: User, patient: User
) -> None:
    message = send(doctor, patient)
    path = f"/m/{message.pk}/expiry/"

    anonymous = client.post(path, {"expires_on": "2000-01-01"})
    assert anonymous.status_code == 302
    assert anonymous["Location"] == f"/accounts/login/?next={path}"
    assert login(doctor).get(path).status_code == 405
    assert Message.objects.get().expires_at == message.expires_at
    assert not _expiry_events()


# --- showing it ---------------------------------------------------------------------------


def test_lists_and_threads_show_the_deletion_date_in_the_readers_time_zone(
    tmp_path: Path, login: Any, client: Any, doctor: User, patient: User
) -> None:
    # Expires at 23:30 UTC on May 6: still May 6 in New York, already May 7 in Tokyo.
    sent_at = datetime(2031, 4, 6, 23, 30, tzinfo=UTC)
    patient.time_zone = "Asia/Tokyo"
    patient.save()
    with frozen_clock(sent_at, tmp_path):
        message = send(doctor, patient)
        assert message.expires_at == datetime(2031, 5, 6, 23, 30, tzinfo=UTC)

        as_user(client, patient)
        assert _deleted_on_column(client.get("/")) == ["May 7"]
        thread = client.get(f"/m/{message.pk}/")
        assert _thread_meta(thread) == ["May 7, 2031"]

        as_user(client, doctor)
        assert _deleted_on_column(client.get("/sent/")) == ["May 6"]
        thread = client.get(f"/m/{message.pk}/")
        assert _thread_meta(thread) == ["May 6, 2031"]
        # The sender's date field starts on the current date, in their time zone.
        assert 'name="expires_on" value="2031-05-06"' in thread.content.decode()


# --- when the day comes -------------------------------------------------------------------


def test_at_the_new_date_the_conversation_is_refused_at_once_then_deleted_with_its_files(
    clock: Any,
    login: Any,
    client: Any,
    doctor: User,
    patient: User,
    staff: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    untouched = send(doctor, staff, subject="Lab invoice")
    message = send_with_files(doctor, patient, staff, files={"xray.png": XRAY})
    [xray] = Attachment.objects.filter(message=message)
    clock.move_to(SENT_AT + timedelta(hours=1))
    assert downloaded(as_user(client, patient).get(attachment_url(xray))) == XRAY
    services.reply(
        sender=patient,
        parent=message,
        body=REPLY,
        client_token=uuid.uuid4(),
        attachments=[encrypted_upload("photo.jpg", b"\xff\xd8\xff swollen gum " * 300)],
    )
    answer = Message.objects.get(in_reply_to=message)
    [photo] = Attachment.objects.filter(message=answer)
    as_user(client, doctor).post(f"/m/{message.pk}/expiry/", {"expires_on": "2031-05-08"})
    message.refresh_from_db()
    assert message.expires_at == datetime(2031, 5, 8, 23, 59, tzinfo=NEW_YORK)
    files = blob_files()
    assert len(files) == 2

    # One minute after the new date, before the worker has run: gone for everyone.
    clock.move_to(message.expires_at + timedelta(minutes=1))
    for user in (doctor, patient, staff):
        as_user(client, user)
        assert client.get(f"/m/{message.pk}/").status_code == 404
        assert client.get(f"/m/{answer.pk}/").status_code == 404
        assert client.get(attachment_url(xray)).status_code == 404
        assert client.get(attachment_url(photo)).status_code == 404
        assert client.get(f"/m/{message.pk}/print/").status_code == 404
        for folder in ("/", "/archive/", "/sent/"):
            assert SUBJECT not in client.get(folder).content.decode()
    assert unread_badge(as_user(client, staff).get("/")) == 1  # the lab invoice only
    assert Message.objects.count() == 3
    assert blob_files() == files

    with django_capture_on_commit_callbacks(execute=True):
        assert expire_due_messages() == 2

    assert list(Message.objects.all()) == [untouched]
    assert list(Delivery.objects.values_list("message_id", flat=True)) == [untouched.pk]
    assert not Attachment.objects.exists()
    assert not AttachmentDownload.objects.exists()
    assert blob_files() == set()
    event = AuditEvent.objects.get(event="messaging:message:expire")
    assert event.data == {"count": 2}
