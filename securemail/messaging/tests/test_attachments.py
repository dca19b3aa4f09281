"""Attachments through the pages (SPEC §4): on new messages, replies (free ones included)
and forwards; refused when empty or over the per-message total; names made safe; downloads
always downloads, typed from their content, audited, and out of reach for anyone else."""

import os
import re
import uuid
from typing import Any

import pytest
from django.test import Client

from securemail.accounts.models import User
from securemail.audit.models import AuditEvent
from securemail.messaging.content import open_attachment
from securemail.messaging.models import Attachment, AttachmentDownload, Delivery, Message
from securemail.messaging.tests.helpers import as_user, blob_files, send, send_with_files, text_of
from securemail.messaging.uploads import UPLOAD_FIELD
from securemail.notifications.models import OutboxEmail
from tests.support import attachment_url, blob_path, downloaded, file_upload

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
REPLY = "Here is the photo of the swelling you asked for."
EMPTY = "“blank.pdf” is empty. Attach a file with content."
DOWNLOAD_EVENT = "messaging:attachment:download"


def _compose(client: Client, to: str, files: list[Any], **fields: str) -> Any:
    """POST the compose page as a browser does, the files in the attachments input."""
    data: dict[str, Any] = {
        "to": to,
        "subject": "Post-op instructions",
        "body": "Files attached.",
        "client_token": str(uuid.uuid4()),
        UPLOAD_FIELD: files,
    }
    data.update(fields)
    return client.post("/compose/", data)


def _reply(client: Client, message: Message, files: list[Any], body: str = REPLY) -> Any:
    return client.post(
        f"/m/{message.pk}/reply/",
        {"body": body, "client_token": str(uuid.uuid4()), UPLOAD_FIELD: files},
    )


def _raw_multipart(client: Client, path: str, fields: dict[str, str], files: list[Any]) -> Any:
    """POST a multipart body written by hand, so file names reach the server exactly as a
    hostile client would send them (Django's test client strips the path part itself)."""
    boundary = "----SecureMailTestBoundary7MA4YWxkTrZu0gW"
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode()
            + b"\r\n"
        )
    for filename, content in files:
        parts.append(
            f"--{boundary}\r\nContent-Disposition: form-data; "
            f'name="{UPLOAD_FIELD}"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode()
            + content
            + b"\r\n"
        )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return client.post(path, body, content_type=f"multipart/form-data; boundary={boundary}")


def _names_on_page(page: Any, message: Message) -> list[str]:
    """The attachment names the conversation page links for one message, in order."""
    links = re.findall(
        rf'<a href="/m/{message.pk}/a/[0-9a-f-]+/" download>(.*?)</a>', page.content.decode()
    )
    return [text_of(link) for link in links]


# --- sending files ----------------------------------------------------------------------


def test_several_files_arrive_and_download_byte_identical_for_every_recipient(
    login: Any, doctor: User, staff: User, patient: User
) -> None:
    files = {
        "discharge-letter.pdf": PDF + os.urandom(20_000),
        "panorex.png": PNG + os.urandom(150_000),
        "notes.txt": b"Ice 20 minutes on, 20 off.\n" * 50,
    }
    before = blob_files()
    client = login(doctor)

    response = _compose(
        client,
        to=staff.email,
        cc=patient.email,
        files=[file_upload(name, data) for name, data in files.items()],
    )

    assert response.status_code == 302, response.content[:800]
    message = Message.objects.get()
    assert response["Location"] == f"/m/{message.pk}/"
    attachments = list(Attachment.objects.filter(message=message).order_by("position"))
    assert [open_attachment(a).name for a in attachments] == list(files)
    assert [a.size for a in attachments] == [len(data) for data in files.values()]
    # One ciphertext file per attachment, none of them holding the plaintext.
    new_blobs = blob_files() - before
    assert new_blobs == {blob_path(a.blob_name) for a in attachments}
    for attachment, data in zip(attachments, files.values(), strict=True):
        assert data[:2000] not in blob_path(attachment.blob_name).read_bytes()
    for reader in (staff, patient, doctor):
        as_user(client, reader)
        assert _names_on_page(client.get(f"/m/{message.pk}/"), message) == list(files)
        for attachment, data in zip(attachments, files.values(), strict=True):
            download = client.get(attachment_url(attachment))
            assert download.status_code == 200
            assert downloaded(download) == data, (reader.email, attachment.position)
            assert download["Content-Length"] == str(len(data))
    assert AuditEvent.objects.filter(event=DOWNLOAD_EVENT).count() == 9


def test_a_file_input_left_empty_sends_the_message_without_attachments(
    login: Any, doctor: User, patient: User
) -> None:
    # A browser posts a file input with nothing chosen as a part with an empty file name.
    response = _raw_multipart(
        login(doctor),
        "/compose/",
        {
            "to": patient.email,
            "subject": "No files today",
            "body": "Nothing attached.",
            "client_token": str(uuid.uuid4()),
        },
        files=[("", b"")],
    )

    assert response.status_code == 302, response.content[:800]
    message = Message.objects.get()
    assert not Attachment.objects.filter(message=message).exists()
    assert Delivery.objects.filter(message=message, recipient=patient).exists()


def test_a_free_patients_reply_carries_an_attachment_the_doctor_downloads(
    login: Any, doctor: User, patient: User
) -> None:
    parent = send(doctor, patient)
    photo = PNG + os.urandom(40_000)
    client = login(patient)

    response = _reply(client, parent, [file_upload("swelling.png", photo, "image/png")])

    assert response.status_code == 302, response.content[:800]
    assert response["Location"] == f"/m/{parent.pk}/"
    reply = Message.objects.get(in_reply_to=parent)
    assert reply.sender == patient
    [attachment] = Attachment.objects.filter(message=reply)
    assert open_attachment(attachment).name == "swelling.png"
    assert Delivery.objects.filter(message=reply, recipient=doctor).exists()

    as_user(client, doctor)
    page = client.get(f"/m/{parent.pk}/")
    assert _names_on_page(page, reply) == ["swelling.png"]
    download = client.get(attachment_url(attachment))

    assert download.status_code == 200
    assert downloaded(download) == photo
    assert download["Content-Type"] == "image/png"
    event = AuditEvent.objects.get(event=DOWNLOAD_EVENT)
    assert (event.actor_id, event.target) == (doctor.pk, f"attachment:{attachment.pk}")


# --- what is refused --------------------------------------------------------------------


def test_an_empty_file_on_a_new_message_is_refused_clearly_and_nothing_is_saved(
    login: Any, doctor: User, patient: User
) -> None:
    before = blob_files()

    response = _compose(
        login(doctor),
        to=patient.email,
        files=[file_upload("x-ray.png", PNG + b"\x00" * 500), file_upload("blank.pdf", b"")],
    )

    assert response.status_code == 400
    assert EMPTY in text_of(response.content.decode())
    # The form comes back as typed, so nothing needs retyping but the file.
    assert "Post-op instructions" in response.content.decode()
    assert not Message.objects.exists()
    assert not Attachment.objects.exists()
    assert not Delivery.objects.exists()
    assert not OutboxEmail.objects.exists()
    # Neither the empty file nor the good one beside it left ciphertext behind.
    assert blob_files() == before


def test_an_empty_file_on_a_reply_is_refused_clearly_and_nothing_is_saved(
    login: Any, doctor: User, patient: User
) -> None:
    parent = send(doctor, patient)
    outbox = OutboxEmail.objects.count()
    before = blob_files()

    response = _reply(login(patient), parent, [file_upload("blank.pdf", b"")])

    assert response.status_code == 400
    assert EMPTY in text_of(response.content.decode())
    assert REPLY in response.content.decode()
    assert Message.objects.count() == 1
    assert not Attachment.objects.exists()
    assert OutboxEmail.objects.count() == outbox
    assert blob_files() == before


def test_files_over_the_per_message_total_are_refused_clearly_and_leave_no_blob(
    login: Any, doctor: User, patient: User, settings: Any
) -> None:
    settings.SECUREMAIL_MAX_MESSAGE_ATTACHMENTS_BYTES = 1024 * 1024
    part = os.urandom(600 * 1024)
    before = blob_files()
    client = login(doctor)

    response = _compose(
        client,
        to=patient.email,
        files=[file_upload("cbct-1.bin", part), file_upload("cbct-2.bin", part)],
    )

    assert response.status_code == 400
    assert "Attachments on one message can add up to 1 MB at most." in text_of(
        response.content.decode()
    )
    assert not Message.objects.exists()
    assert not Attachment.objects.exists()
    assert blob_files() == before

    # Each file alone fits: it is the total that was refused.
    response = _compose(client, to=patient.email, files=[file_upload("cbct-1.bin", part)])

    assert response.status_code == 302
    assert Attachment.objects.count() == 1


def test_a_reply_over_the_per_message_total_is_refused_clearly_and_leaves_no_blob(
    login: Any, doctor: User, patient: User, settings: Any
) -> None:
    settings.SECUREMAIL_MAX_MESSAGE_ATTACHMENTS_BYTES = 1024 * 1024
    parent = send(doctor, patient)
    part = os.urandom(600 * 1024)
    before = blob_files()

    response = _reply(
        login(patient), parent, [file_upload("a.bin", part), file_upload("b.bin", part)]
    )

    assert response.status_code == 400
    assert "Attachments on one message can add up to 1 MB at most." in text_of(
        response.content.decode()
    )
    assert Message.objects.count() == 1
    assert not Attachment.objects.exists()
    assert blob_files() == before


# --- names ------------------------------------------------------------------------------


def test_file_names_lose_their_path_and_markup_and_are_shown_escaped(
    login: Any, doctor: User, patient: User
) -> None:
    hostile = [
        ("../../etc/<script>alert(1)</script>.pdf", PDF),
        ("C:\\x\\report.pdf", PDF + b"2"),
        ("<img src=x onerror=alert(1)>.pdf", PDF + b"3"),
        ("Tom & Jerry's x-ray.png", PNG),
    ]
    client = login(doctor)

    response = _raw_multipart(
        client,
        "/compose/",
        {
            "to": patient.email,
            "subject": "Names",
            "body": "See the files.",
            "client_token": str(uuid.uuid4()),
        },
        files=hostile,
    )

    assert response.status_code == 302, response.content[:800]
    message = Message.objects.get()
    attachments = list(Attachment.objects.filter(message=message).order_by("position"))
    stored = [open_attachment(a).name for a in attachments]
    # What is left of each name: its last path part, markup characters replaced.
    assert stored == [
        "script_.pdf",
        "report.pdf",
        "_img src=x onerror=alert(1)_.pdf",
        "Tom & Jerry's x-ray.png",
    ]
    for name in stored:
        assert not {"/", "\\", "<", ">", ":"} & set(name)

    as_user(client, patient)
    page = client.get(f"/m/{message.pk}/").content.decode()
    assert "<script>alert(1)" not in page
    assert "<img src=x" not in page
    assert "etc/" not in page
    assert "C:\\x" not in page
    assert "Tom &amp; Jerry&#x27;s x-ray.png" in page
    assert _names_on_page(client.get(f"/m/{message.pk}/"), message) == stored

    dispositions = [client.get(attachment_url(a))["Content-Disposition"] for a in attachments]
    assert dispositions == [
        'attachment; filename="script_.pdf"',
        'attachment; filename="report.pdf"',
        'attachment; filename="_img src=x onerror=alert(1)_.pdf"',
        'attachment; filename="Tom & Jerry\'s x-ray.png"',
    ]


def test_a_name_with_quotes_and_accents_gives_a_well_formed_content_disposition(
    login: Any, doctor: User, patient: User
) -> None:
    client = login(doctor)
    response = _compose(
        client,
        to=patient.email,
        files=[
            file_upload('bite "wing" film.pdf', PDF),
            file_upload("Röntgen befund.pdf", PDF + b"2"),
        ],
    )
    assert response.status_code == 302, response.content[:800]
    quoted, accented = Attachment.objects.order_by("position")
    as_user(client, patient)

    quoted_header = client.get(attachment_url(quoted))["Content-Disposition"]
    accented_header = client.get(attachment_url(accented))["Content-Disposition"]

    # A quote could end the file name early and start a parameter of its own.
    assert quoted_header == 'attachment; filename="bite _wing_ film.pdf"'
    assert accented_header == "attachment; filename*=utf-8''R%C3%B6ntgen%20befund.pdf"


# --- downloads --------------------------------------------------------------------------


def test_a_download_is_typed_from_its_content_whatever_its_name_says(
    login: Any, doctor: User, patient: User
) -> None:
    png = PNG + os.urandom(3000)
    client = login(doctor)
    response = _compose(
        client,
        to=patient.email,
        files=[
            file_upload("scan.pdf", png, "application/pdf"),
            file_upload("letter.png", PDF, "image/png"),
            file_upload("invoice.exe", b"Total due: $120.00\n", "application/x-msdownload"),
        ],
    )
    assert response.status_code == 302, response.content[:800]
    as_png, as_pdf, as_text = Attachment.objects.order_by("position")
    as_user(client, patient)

    downloads = [client.get(attachment_url(a)) for a in (as_png, as_pdf, as_text)]

    assert [d["Content-Type"] for d in downloads] == [
        "image/png",
        "application/pdf",
        "text/plain",
    ]
    assert downloaded(downloads[0]) == png
    for download in downloads:
        assert download.status_code == 200
        assert download["Content-Disposition"].startswith("attachment; ")
        assert download["X-Content-Type-Options"] == "nosniff"
        assert download["Content-Security-Policy"] == "sandbox; default-src 'none'"


def test_downloads_are_audited_and_recorded_once_for_the_delivery_slip(
    login: Any, doctor: User, patient: User
) -> None:
    message = send_with_files(doctor, patient, files={"chart.txt": b"tooth 14 mesial caries"})
    attachment = Attachment.objects.get(message=message)
    client = login(patient)

    first = client.get(attachment_url(attachment))
    downloaded(first)
    second = client.get(attachment_url(attachment))
    downloaded(second)

    events = list(AuditEvent.objects.filter(event=DOWNLOAD_EVENT))
    assert [(e.actor_id, e.target, e.data) for e in events] == [
        (patient.pk, f"attachment:{attachment.pk}", {"message": str(message.pk)})
    ] * 2
    # The audit entry holds ids only, never the file's name.
    assert "chart" not in str([(e.target, e.data) for e in events])
    record = AttachmentDownload.objects.get()
    assert (record.attachment_id, record.user_id) == (attachment.pk, patient.pk)
    # The sender's delivery slip says the file was downloaded.
    slip = text_of(as_user(client, doctor).get(f"/m/{message.pk}/").content.decode())
    assert "chart.txt:" in slip.split("Delivery slip", 1)[1]


@pytest.mark.parametrize("persona", ["outsider", "other_doctor", "free_staff"])
def test_anyone_outside_the_conversation_gets_a_404_and_nothing_is_audited(
    persona: str, request: Any, login: Any, doctor: User, patient: User
) -> None:
    message = send_with_files(doctor, patient, files={"chart.txt": b"tooth 14 mesial caries"})
    attachment = Attachment.objects.get(message=message)

    response = login(request.getfixturevalue(persona)).get(attachment_url(attachment))

    assert response.status_code == 404
    assert b"tooth 14" not in response.content
    assert not AuditEvent.objects.filter(event=DOWNLOAD_EVENT).exists()
    assert not AttachmentDownload.objects.exists()


def test_an_anonymous_download_is_sent_to_log_in(client: Any, doctor: User, patient: User) -> None:
    message = send_with_files(doctor, patient, files={"chart.txt": b"tooth 14 mesial caries"})
    url = attachment_url(Attachment.objects.get(message=message))

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={url}"
    assert not AuditEvent.objects.filter(event=DOWNLOAD_EVENT).exists()


# --- forwarding -------------------------------------------------------------------------


def test_a_forwarded_attachment_downloads_for_the_new_recipient_under_its_own_blob(
    login: Any,
    doctor: User,
    staff: User,
    patient: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    data = PDF + os.urandom(50_000)
    original = send_with_files(doctor, patient, files={"referral.pdf": data})
    original_file = Attachment.objects.get(message=original)
    client = login(doctor)

    response = client.post(
        f"/m/{original.pk}/forward/",
        {"to": staff.email, "body": "For your records.", "client_token": str(uuid.uuid4())},
    )

    assert response.status_code == 302, response.content[:800]
    forwarded = Message.objects.exclude(pk=original.pk).get()
    assert response["Location"] == f"/m/{forwarded.pk}/"
    copy = Attachment.objects.get(message=forwarded)
    assert open_attachment(copy).name == "referral.pdf"
    assert copy.blob_name != original_file.blob_name
    assert bytes(copy.wrapped_key) != bytes(original_file.wrapped_key)
    assert blob_path(copy.blob_name).is_file()
    assert blob_path(copy.blob_name).read_bytes() != blob_path(original_file.blob_name).read_bytes()

    as_user(client, staff)
    download = client.get(attachment_url(copy))
    assert download.status_code == 200
    assert downloaded(download) == data
    assert download["Content-Type"] == "application/pdf"
    # The new recipient reaches the copy, not the original conversation's file.
    assert client.get(attachment_url(original_file)).status_code == 404

    # The copy stands on its own: deleting the original for everyone leaves it whole.
    with django_capture_on_commit_callbacks(execute=True):
        assert as_user(client, doctor).post(f"/m/{original.pk}/delete/").status_code == 302
    assert not blob_path(original_file.blob_name).exists()
    assert downloaded(as_user(client, staff).get(attachment_url(copy))) == data


# --- double submission ------------------------------------------------------------------


def test_a_double_submitted_message_with_files_keeps_one_copy_of_each_file(
    login: Any, doctor: User, patient: User
) -> None:
    data = PDF + os.urandom(30_000)
    before = blob_files()
    client = login(doctor)
    token = str(uuid.uuid4())

    first = _compose(
        client, to=patient.email, files=[file_upload("a.pdf", data)], client_token=token
    )
    second = _compose(
        client, to=patient.email, files=[file_upload("a.pdf", data)], client_token=token
    )

    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    attachment = Attachment.objects.get()
    # The second upload was encrypted as it arrived; it must not stay behind unreferenced.
    assert blob_files() - before == {blob_path(attachment.blob_name)}


def test_a_double_submitted_reply_with_files_keeps_one_copy_of_each_file(
    login: Any, doctor: User, patient: User
) -> None:
    parent = send(doctor, patient)
    before = blob_files()
    client = login(patient)
    token = str(uuid.uuid4())
    data = PNG + os.urandom(30_000)

    for _ in range(2):
        response = client.post(
            f"/m/{parent.pk}/reply/",
            {"body": REPLY, "client_token": token, UPLOAD_FIELD: [file_upload("p.png", data)]},
        )
        assert response.status_code == 302

    attachment = Attachment.objects.get()
    assert blob_files() - before == {blob_path(attachment.blob_name)}


def _race(monkeypatch: Any) -> None:
    """The next double-submit check misses, as when the first request hasn't committed yet:
    the second one gets as far as the database's unique client token."""
    from securemail.messaging.services import sending

    real = sending._existing
    calls = {"n": 0}

    def first_misses(sender: User, client_token: uuid.UUID | None) -> Message | None:
        calls["n"] += 1
        return None if calls["n"] == 1 else real(sender, client_token)

    monkeypatch.setattr(sending, "_existing", first_misses)


@pytest.mark.parametrize("kind", ["message", "reply"])
def test_a_racing_double_submission_with_files_keeps_one_message_and_one_copy(
    kind: str, login: Any, doctor: User, patient: User, monkeypatch: Any
) -> None:
    parent = send(doctor, patient)
    before = blob_files()
    token = str(uuid.uuid4())
    data = PNG + os.urandom(30_000)

    def submit(client: Client) -> Any:
        files = [file_upload("p.png", data)]
        if kind == "message":
            return _compose(client, to=patient.email, files=files, client_token=token)
        return client.post(
            f"/m/{parent.pk}/reply/",
            {"body": REPLY, "client_token": token, UPLOAD_FIELD: files},
        )

    client = login(doctor if kind == "message" else patient)
    first = submit(client)
    _race(monkeypatch)
    second = submit(client)

    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Message.objects.count() == 2
    attachment = Attachment.objects.get()
    assert blob_files() - before == {blob_path(attachment.blob_name)}
