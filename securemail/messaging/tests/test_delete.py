"""Deleting (SPEC §4, README "What shredding guarantees"): the sender's delete removes a
message, its replies and its files for every party at once; a recipient's delete only hides
it from their own mailbox."""

import uuid
from typing import Any

import pytest

from securemail.accounts.models import User
from securemail.audit.models import AuditEvent
from securemail.messaging import services
from securemail.messaging.models import Attachment, AttachmentDownload, Delivery, Message
from securemail.messaging.tests.helpers import (
    BODY,
    SUBJECT,
    as_user,
    blob_files,
    send,
    send_with_files,
    unread_badge,
)
from tests.support import attachment_url, downloaded, encrypted_upload

# A file store of each test's own, so blob_files() is exactly this test's files.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("own_files")]

REPLY = "The swelling went down overnight."
FOLLOW_UP = "Good. Keep rinsing for another week."
XRAY = b"\x89PNG\r\n\x1a\n periapical radiograph " * 500
PHOTO = b"\xff\xd8\xff swollen gum " * 300
FOLDERS = ("/", "/archive/", "/sent/")


def _events(event: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(event=event))


def _in_a_folder(client: Any, text: str) -> bool:
    return any(text in client.get(folder).content.decode() for folder in FOLDERS)


def _conversation_with_files(doctor: User, patient: User, staff: User) -> tuple[Message, Message]:
    """The doctor writes to the patient and staff with an X-ray; the patient downloads it
    and replies with a photo."""
    message = send_with_files(doctor, patient, staff, files={"xray.png": XRAY})
    [xray] = Attachment.objects.filter(message=message)
    services.record_download(reader=patient, attachment=xray)
    services.reply(
        sender=patient,
        parent=message,
        body=REPLY,
        client_token=uuid.uuid4(),
        attachments=[encrypted_upload("photo.jpg", PHOTO)],
    )
    return message, Message.objects.get(in_reply_to=message)


# --- the sender's delete: for everyone -------------------------------------------------------


def test_the_senders_delete_removes_the_conversation_and_its_files_for_everyone_at_once(
    login: Any,
    client: Any,
    doctor: User,
    patient: User,
    staff: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    kept = send(doctor, staff, subject="Lab invoice")
    message, answer = _conversation_with_files(doctor, patient, staff)
    attachments = list(Attachment.objects.all())
    assert len(blob_files()) == 2
    assert unread_badge(as_user(client, staff).get("/")) == 2
    assert unread_badge(as_user(client, doctor).get("/")) == 1  # the patient's reply

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/m/{message.pk}/delete/")

    assert response.status_code == 302
    assert response["Location"] == "/sent/"
    assert "Deleted for everyone." in client.get("/sent/").content.decode()
    # The rows, the replies, the mailbox entries, the download records and the files.
    assert list(Message.objects.all()) == [kept]
    assert list(Delivery.objects.values_list("message_id", flat=True)) == [kept.pk]
    assert not Attachment.objects.exists()
    assert not AttachmentDownload.objects.exists()
    assert blob_files() == set()
    for user in (doctor, patient, staff):
        as_user(client, user)
        assert client.get(f"/m/{message.pk}/").status_code == 404
        assert client.get(f"/m/{answer.pk}/").status_code == 404
        for attachment in attachments:
            assert client.get(attachment_url(attachment)).status_code == 404
        assert not _in_a_folder(client, SUBJECT)
    assert unread_badge(as_user(client, staff).get("/")) == 1  # the lab invoice only
    assert unread_badge(as_user(client, patient).get("/")) == 0
    assert unread_badge(as_user(client, doctor).get("/")) == 0
    [event] = _events("messaging:message:delete")
    assert event.actor_id == doctor.pk
    assert event.target == f"message:{message.pk}"
    assert event.data == {"count": 2}


def test_deleting_a_reply_for_everyone_leaves_the_rest_of_the_conversation(
    login: Any,
    doctor: User,
    patient: User,
    staff: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    message, answer = _conversation_with_files(doctor, patient, staff)
    [xray] = Attachment.objects.filter(message=message)

    client = login(patient)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/m/{answer.pk}/delete/")

    assert response.status_code == 302
    assert list(Message.objects.all()) == [message]
    assert list(Attachment.objects.all()) == [xray]
    assert len(blob_files()) == 1
    assert downloaded(client.get(attachment_url(xray))) == XRAY
    page = as_user(client, doctor).get(f"/m/{message.pk}/").content.decode()
    assert BODY in page
    assert REPLY not in page
    assert client.get(f"/m/{answer.pk}/").status_code == 404
    [event] = _events("messaging:message:delete")
    assert (event.actor_id, event.target, event.data) == (
        patient.pk,
        f"message:{answer.pk}",
        {"count": 1},
    )


def test_the_conversations_starter_can_delete_it_from_a_reply_opened_in_the_inbox(
    login: Any, doctor: User, patient: User, staff: User
) -> None:
    message, answer = _conversation_with_files(doctor, patient, staff)
    client = login(doctor)

    # The doctor opens the patient's reply (it is in their inbox), not their own message.
    page = client.get(f"/m/{answer.pk}/").content.decode()

    assert "Delete for everyone now" in page
    assert f'action="/m/{message.pk}/delete/"' in page
    assert "Removes this conversation from every recipient" in page
    assert f'action="/m/{message.pk}/expiry/"' in page
    assert client.post(f"/m/{message.pk}/delete/").status_code == 302
    assert not Message.objects.exists()


def test_a_reply_only_offers_its_own_sender_tools_to_whoever_wrote_it(
    login: Any, doctor: User, patient: User, staff: User
) -> None:
    message, answer = _conversation_with_files(doctor, patient, staff)

    # The patient wrote the reply: its tools act on the reply only, never the conversation.
    patients_view = login(patient).get(f"/m/{answer.pk}/").content.decode()
    assert f'action="/m/{answer.pk}/delete/"' in patients_view
    assert f'action="/m/{message.pk}/delete/"' not in patients_view
    assert "Removes this message from every recipient" in patients_view
    # Staff wrote nothing: no sender's tools at all.
    assert "Delete for everyone now" not in login(staff).get(f"/m/{answer.pk}/").content.decode()


@pytest.mark.parametrize("persona", ["patient", "staff"])
def test_a_recipient_cannot_delete_for_everyone(
    request: Any,
    login: Any,
    doctor: User,
    patient: User,
    staff: User,
    persona: str,
    django_capture_on_commit_callbacks: Any,
) -> None:
    message = send_with_files(doctor, patient, staff, files={"xray.png": XRAY})
    client = login(request.getfixturevalue(persona))
    assert "Delete for everyone now" not in client.get(f"/m/{message.pk}/").content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/m/{message.pk}/delete/")

    assert response.status_code == 403
    assert list(Message.objects.all()) == [message]
    assert Delivery.objects.filter(message=message, hidden_at__isnull=True).count() == 2
    assert len(blob_files()) == 1
    assert not _events("messaging:message:delete")
    assert client.get(f"/m/{message.pk}/").status_code == 200


# --- the recipient's delete: from their own mailbox -----------------------------------------


def test_a_recipients_delete_only_hides_it_from_their_own_mailbox(
    login: Any,
    client: Any,
    doctor: User,
    patient: User,
    staff: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    message = send_with_files(doctor, patient, staff, files={"xray.png": XRAY})
    [xray] = Attachment.objects.filter(message=message)
    page = login(patient).get(f"/m/{message.pk}/").content.decode()
    assert "Delete from my mailbox" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/m/{message.pk}/hide/")

    assert response.status_code == 302
    assert response["Location"] == "/"
    inbox = client.get("/").content.decode()
    assert "Deleted from your mailbox. The other people keep their copy." in inbox
    # Gone for the patient: not in a folder, not openable, its file not downloadable.
    assert not _in_a_folder(client, SUBJECT)
    assert client.get(f"/m/{message.pk}/").status_code == 404
    assert client.get(attachment_url(xray)).status_code == 404
    hidden = Delivery.objects.get(message=message, recipient=patient)
    assert hidden.hidden_at is not None
    # Everyone else keeps it, file included.
    assert list(Message.objects.all()) == [message]
    assert len(blob_files()) == 1
    for user, folder in ((staff, "/"), (doctor, "/sent/")):
        as_user(client, user)
        assert SUBJECT in client.get(folder).content.decode()
        assert BODY in client.get(f"/m/{message.pk}/").content.decode()
        assert downloaded(client.get(attachment_url(xray))) == XRAY
    assert Delivery.objects.get(message=message, recipient=staff).hidden_at is None
    [event] = _events("messaging:message:hide")
    assert (event.actor_id, event.target) == (patient.pk, f"message:{message.pk}")
    assert not _events("messaging:message:delete")


def test_a_new_reply_in_a_hidden_conversation_reaches_the_recipient_without_what_they_deleted(
    login: Any, doctor: User, patient: User, staff: User
) -> None:
    message = send(doctor, patient, staff)
    client = login(patient)
    client.post(f"/m/{message.pk}/hide/")

    services.reply(sender=doctor, parent=message, body=FOLLOW_UP, client_token=uuid.uuid4())
    follow_up = Message.objects.get(in_reply_to=message)

    # The reply is a new mailbox entry: it shows in the inbox, unread.
    assert unread_badge(client.get("/")) == 1
    inbox = client.get("/").content.decode()
    assert f"/m/{follow_up.pk}/" in inbox
    assert f"/m/{message.pk}/" not in inbox
    # Opened, it shows alone: the message the patient deleted stays deleted for them.
    page = client.get(f"/m/{follow_up.pk}/").content.decode()
    assert FOLLOW_UP in page
    assert BODY not in page
    assert client.get(f"/m/{message.pk}/").status_code == 404
    # The staff member sees the whole conversation.
    page = as_user(client, staff).get(f"/m/{follow_up.pk}/").content.decode()
    assert BODY in page
    assert FOLLOW_UP in page


def test_the_sender_has_nothing_to_hide(login: Any, doctor: User, patient: User) -> None:
    message = send(doctor, patient)
    client = login(doctor)
    assert "Delete from my mailbox" not in client.get(f"/m/{message.pk}/").content.decode()

    response = client.post(f"/m/{message.pk}/hide/")

    assert response.status_code == 403
    assert SUBJECT in client.get("/sent/").content.decode()
    assert not _events("messaging:message:hide")


# --- who may ask, and how ----------------------------------------------------------------


@pytest.mark.parametrize("action", ["delete", "hide"])
@pytest.mark.parametrize("persona", ["outsider", "other_doctor", "free_staff"])
def test_someone_outside_the_conversation_gets_the_same_404_as_for_a_missing_message(
    request: Any, login: Any, doctor: User, patient: User, persona: str, action: str
) -> None:
    message = send(doctor, patient)
    client = login(request.getfixturevalue(persona))

    response = client.post(f"/m/{message.pk}/{action}/")
    missing = client.post(f"/m/{uuid.uuid4()}/{action}/")

    assert response.status_code == missing.status_code == 404
    assert response.content == missing.content
    assert list(Message.objects.all()) == [message]
    assert Delivery.objects.get().hidden_at is None
    assert not AuditEvent.objects.filter(
        event__in=["messaging:message:delete", "messaging:message:hide"]
    ).exists()


@pytest.mark.parametrize(("action", "persona"), [("delete", "doctor"), ("hide", "patient")])
def test_a_get_changes_nothing(
    request: Any, login: Any, client: Any, doctor: User, patient: User, action: str, persona: str
) -> None:
    message = send(doctor, patient)
    path = f"/m/{message.pk}/{action}/"

    anonymous = client.post(path)
    assert anonymous.status_code == 302
    assert anonymous["Location"] == f"/accounts/login/?next={path}"
    assert login(request.getfixturevalue(persona)).get(path).status_code == 405

    assert list(Message.objects.all()) == [message]
    assert Delivery.objects.get().hidden_at is None


def test_deleting_twice_is_harmless(
    login: Any, client: Any, doctor: User, patient: User, django_capture_on_commit_callbacks: Any
) -> None:
    kept = send(doctor, patient, subject="Lab invoice")
    message = send_with_files(doctor, patient, files={"xray.png": XRAY})
    login(doctor)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/m/{message.pk}/delete/").status_code == 302

    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(f"/m/{message.pk}/delete/")

    assert again.status_code == 404
    assert list(Message.objects.all()) == [kept]
    assert len(_events("messaging:message:delete")) == 1


def test_hiding_twice_is_harmless(login: Any, doctor: User, patient: User) -> None:
    message = send(doctor, patient)
    client = login(patient)
    assert client.post(f"/m/{message.pk}/hide/").status_code == 302
    first = Delivery.objects.get().hidden_at

    again = client.post(f"/m/{message.pk}/hide/")

    assert again.status_code == 404
    assert Delivery.objects.get().hidden_at == first
    assert len(_events("messaging:message:hide")) == 1
