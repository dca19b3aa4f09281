"""The storage quota (issue 11, README "Storage quota"): the files of the messages a person
sent that still exist count against their plan's quota (a free account's is smaller); an
upload that would pass it is refused with a clear message before it is stored, exactly at
the quota is allowed; deleting for everyone and expiry free the space; the menu and the
profile page show the use, for one query.

Each test has a file store of its own, so the blob files under it are exactly its own."""

import io
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from securemail.accounts.models import User
from securemail.billing import entitlements
from securemail.billing.tests.helpers import buy
from securemail.core.blobs import LocalBlobStore
from securemail.core.text import human_size
from securemail.messaging import services
from securemail.messaging.models import Attachment, Message
from securemail.messaging.quota import storage_use
from securemail.messaging.services import expire_due_messages
from securemail.messaging.tests.helpers import as_user, blob_files, send, send_with_files, text_of
from securemail.messaging.uploads import UPLOAD_FIELD
from tests.support import encrypted_upload, frozen_clock

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("own_files")]

KB = 1024
MB = 1024 * 1024
SENT_AT = datetime(2031, 5, 6, 15, 0, tzinfo=UTC)


@pytest.fixture
def quotas(settings: Any) -> Any:
    """Set the quotas: free accounts', and each paid plan's (both, unless given apart). The
    paid personas hold no plan row: they get the smallest paid plan's."""

    def set_quotas(
        *, free: int | None = None, paid: int | None = None, annual: int | None = None
    ) -> None:
        if free is not None:
            settings.SECUREMAIL_FREE_STORAGE_BYTES = free
        plans = settings.SECUREMAIL_PLANS
        monthly_bytes = paid if paid is not None else plans["monthly"]["storage_bytes"]
        annual_bytes = annual if annual is not None else paid
        settings.SECUREMAIL_PLANS = {
            "monthly": {**plans["monthly"], "storage_bytes": monthly_bytes},
            "annual": {
                **plans["annual"],
                "storage_bytes": annual_bytes
                if annual_bytes is not None
                else plans["annual"]["storage_bytes"],
            },
        }

    return set_quotas


@pytest.fixture
def opened(monkeypatch: Any) -> list[str]:
    """The name of every blob the file store is asked to create, in order."""
    names: list[str] = []
    real = LocalBlobStore.open_write

    def spy(self: LocalBlobStore, name: str) -> Any:
        names.append(name)
        return real(self, name)

    monkeypatch.setattr(LocalBlobStore, "open_write", spy)
    return names


@pytest.fixture
def clock(tmp_path: Path) -> Iterator[Any]:
    with frozen_clock(SENT_AT, tmp_path) as traveller:
        yield traveller


def _compose(client: Client, to: User, *files: tuple[str, int], **fields: Any) -> Any:
    data: dict[str, Any] = {
        "to": to.email,
        "subject": "Post-op instructions",
        "body": "Files attached.",
        "client_token": str(uuid.uuid4()),
        UPLOAD_FIELD: [SimpleUploadedFile(name, b"x" * size) for name, size in files],
    }
    return client.post("/compose/", data | fields)


def _reply(client: Client, parent: Message, *files: tuple[str, int]) -> Any:
    data: dict[str, Any] = {
        "body": "Here it is.",
        "client_token": str(uuid.uuid4()),
        UPLOAD_FIELD: [SimpleUploadedFile(name, b"x" * size) for name, size in files],
    }
    return client.post(f"/m/{parent.pk}/reply/", data)


def _used(user: User) -> int:
    return storage_use(User.objects.get(pk=user.pk)).used


def _refusal(name: str | None, used: str, quota: str, left: str) -> str:
    what = f"“{name}” would" if name else "These files would"
    return (
        f"{what} pass your storage quota: {used} used of {quota}; {left} left. Files you sent "
        "count until their messages are deleted or expire."
    )


# --- the edge: exactly at the quota is allowed, one byte more is not ---------------------


def test_a_file_that_fills_the_quota_exactly_is_sent_and_one_byte_more_is_refused(
    quotas: Any, login: Any, doctor: User, patient: User, opened: list[str]
) -> None:
    quotas(paid=1 * MB)
    send_with_files(doctor, patient, files={"earlier.bin": b"e" * (600 * KB)})
    client = login(doctor)
    before = blob_files()
    messages = Message.objects.count()
    opened.clear()

    refused = _compose(client, patient, ("scan.pdf", 424 * KB + 1))

    assert refused.status_code == 400
    page = text_of(refused.content.decode())
    assert _refusal("scan.pdf", "600 KB", "1 MB", "424 KB") in page
    # The form comes back as typed, and nothing was kept: no message, no file.
    assert "Files attached." in refused.content.decode()
    assert Message.objects.count() == messages
    assert blob_files() == before
    assert len(opened) == 1  # written while it streamed in, then deleted

    sent = _compose(client, patient, ("scan.pdf", 424 * KB))

    assert sent.status_code == 302, sent.content[:500]
    assert _used(doctor) == 1 * MB
    assert "1 MB of 1 MB used" in text_of(client.get("/").content.decode())

    # Full: the next file is refused before a byte of it is written.
    opened.clear()
    full = _compose(client, patient, ("one-more.txt", 1))

    assert full.status_code == 400
    assert _refusal("one-more.txt", "1 MB", "1 MB", "0 bytes") in text_of(full.content.decode())
    assert opened == []
    assert Message.objects.count() == messages + 1


def test_a_free_accounts_reply_is_held_to_the_free_quota_at_its_edge(
    quotas: Any, login: Any, doctor: User, patient: User
) -> None:
    quotas(free=100 * KB, paid=10 * MB)
    parent = send(doctor, patient)
    client = login(patient)

    refused = _reply(client, parent, ("card-front.jpg", 60 * KB), ("card-back.jpg", 40 * KB + 1))

    assert refused.status_code == 400
    assert _refusal("card-back.jpg", "0 bytes", "100 KB", "100 KB") in text_of(
        refused.content.decode()
    )
    assert not Message.objects.filter(sender=patient).exists()
    assert blob_files() == set()

    sent = _reply(client, parent, ("card-front.jpg", 60 * KB), ("card-back.jpg", 40 * KB))

    assert sent.status_code == 302
    assert _used(patient) == 100 * KB
    # The doctor's files and quota are the doctor's own.
    assert storage_use(doctor).quota == 10 * MB


def test_the_service_checks_the_quota_again_whatever_the_upload_handler_let_through(
    quotas: Any, doctor: User, patient: User
) -> None:
    # The handler only sees one request; the service's check (under the sender's row
    # lock) is the one that holds for every way files get stored.
    quotas(paid=5000)
    send_with_files(doctor, patient, files={"first.bin": b"1" * 3000})
    messages = Message.objects.count()

    with pytest.raises(services.MessagingError) as refused:
        send_with_files(doctor, patient, files={"second.bin": b"2" * 2001})

    assert str(refused.value) == _refusal(None, "2.9 KB", "4.9 KB", "2 KB")
    assert Message.objects.count() == messages
    parent = send(doctor, patient)
    with pytest.raises(services.MessagingError):
        services.reply(
            sender=doctor,
            parent=parent,
            body="And another.",
            attachments=[encrypted_upload("third.bin", b"3" * 2001)],
        )

    send_with_files(doctor, patient, files={"second.bin": b"2" * 2000})

    assert _used(doctor) == 5000


# --- free and paid accounts --------------------------------------------------------------


def test_free_accounts_get_the_smaller_quota_and_each_paid_plan_its_own(
    quotas: Any, login: Any, patient: User, doctor: User, free_staff: User
) -> None:
    quotas(free=100 * MB, paid=3 * 1024 * MB, annual=7 * 1024 * MB)

    assert entitlements.storage_quota(patient) == 100 * MB
    assert entitlements.storage_quota(free_staff) == 100 * MB
    # Paid with no plan on record (the personas, the demo): the smallest paid plan's.
    assert entitlements.storage_quota(doctor) == 3 * 1024 * MB

    client = login(free_staff)
    assert "0 bytes of 100 MB used" in text_of(client.get("/accounts/profile/").content.decode())
    buy(client, "annual")
    free_staff.refresh_from_db()

    assert entitlements.storage_quota(free_staff) == 7 * 1024 * MB
    assert storage_use(free_staff).quota == 7 * 1024 * MB
    profile = text_of(client.get("/accounts/profile/").content.decode())
    assert "0 bytes of 7 GB used; 7 GB left." in profile


# --- what counts, and what frees the space -------------------------------------------------


def test_deleting_for_everyone_frees_the_space_of_every_file_in_the_conversation(
    quotas: Any, login: Any, doctor: User, patient: User, django_capture_on_commit_callbacks: Any
) -> None:
    quotas(paid=1 * MB, free=1 * MB)
    message = send_with_files(doctor, patient, files={"xray.png": b"x" * (700 * KB)})
    services.reply(
        sender=patient,
        parent=message,
        body="My photo.",
        attachments=[encrypted_upload("photo.jpg", b"p" * (300 * KB))],
    )
    client = login(doctor)
    assert _compose(client, patient, ("second.png", 700 * KB)).status_code == 400
    assert (_used(doctor), _used(patient)) == (700 * KB, 300 * KB)

    with django_capture_on_commit_callbacks(execute=True):
        services.delete_for_everyone(actor=doctor, message=message)

    # The replies go with the conversation, and so do their senders' files.
    assert (_used(doctor), _used(patient)) == (0, 0)
    assert blob_files() == set()
    assert _compose(client, patient, ("second.png", 700 * KB)).status_code == 302


def test_expiry_frees_the_space_at_the_expiry_not_when_the_worker_runs(
    clock: Any,
    quotas: Any,
    doctor: User,
    patient: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    quotas(paid=1 * MB)
    kept = send_with_files(doctor, patient, files={"kept.bin": b"k" * (100 * KB)})
    moved = send_with_files(doctor, patient, files={"soon.bin": b"s" * (400 * KB)})
    services.change_expiry(actor=doctor, message=moved, expires_at=SENT_AT + timedelta(days=2))
    assert _used(doctor) == 500 * KB

    clock.move_to(SENT_AT + timedelta(days=2, seconds=1))

    # Expired, not yet deleted by the worker: no longer counted.
    assert Attachment.objects.count() == 2
    assert _used(doctor) == 100 * KB

    with django_capture_on_commit_callbacks(execute=True):
        assert expire_due_messages() == 1

    assert _used(doctor) == 100 * KB
    assert list(Attachment.objects.values_list("message_id", flat=True)) == [kept.pk]


def test_forwarded_files_count_for_the_forwarder_and_a_forward_past_the_quota_is_refused(
    quotas: Any, login: Any, doctor: User, other_doctor: User, patient: User
) -> None:
    quotas(paid=1 * MB)
    received = send_with_files(other_doctor, doctor, files={"cbct.bin": b"c" * (600 * KB)})
    client = login(doctor)

    forwarded = client.post(
        f"/m/{received.pk}/forward/",
        {"to": patient.email, "body": "For your records.", "client_token": str(uuid.uuid4())},
    )

    assert forwarded.status_code == 302
    # Stored again, re-encrypted, for the forwarder; the original is its sender's.
    assert (_used(doctor), _used(other_doctor)) == (600 * KB, 600 * KB)

    again = client.post(
        f"/m/{received.pk}/forward/",
        {"to": patient.email, "body": "Once more.", "client_token": str(uuid.uuid4())},
    )

    assert again.status_code == 400
    assert _refusal(None, "600 KB", "1 MB", "424 KB") in text_of(again.content.decode())
    assert Message.objects.filter(sender=doctor).count() == 1
    assert _used(doctor) == 600 * KB


def test_drafts_keep_no_files_and_take_no_space(
    quotas: Any, login: Any, doctor: User, patient: User
) -> None:
    quotas(paid=1 * MB)
    client = login(doctor)
    saved = client.post(
        "/compose/draft/",
        {"to": patient.email, "subject": "Draft", "body": "Files to follow."},
    )
    assert saved.status_code == 200
    draft = doctor.drafts.get()

    assert _used(doctor) == 0
    assert "0 bytes of 1 MB used" in text_of(client.get("/drafts/").content.decode())

    # Sent from the draft with a file: the message's file counts, the draft is gone.
    sent = _compose(client, patient, ("plan.pdf", 200 * KB), draft=str(draft.pk))

    assert sent.status_code == 302
    assert not doctor.drafts.exists()
    assert _used(doctor) == 200 * KB


# --- bad input ---------------------------------------------------------------------------


def _multipart(fields: dict[str, str], files: dict[str, bytes]) -> tuple[bytes, str]:
    boundary = "----SecureMailQuota"
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    )
    for name, content in files.items():
        body += (
            (
                f"--{boundary}\r\nContent-Disposition: form-data; "
                f'name="{UPLOAD_FIELD}"; filename="{name}"\r\n\r\n'
            ).encode()
            + content
            + b"\r\n"
        )
    body += f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def _raw_compose(
    client: Client, to: User, files: dict[str, bytes], *, cut: int = 0, **meta: Any
) -> Any:
    """POST a hand-made compose body (less its last `cut` bytes: the client went away),
    with the environ entries given (CONTENT_LENGTH...)."""
    fields = {
        "to": to.email,
        "subject": "Scans",
        "body": "Two scans.",
        "client_token": str(uuid.uuid4()),
    }
    body, content_type = _multipart(fields, files)
    if cut:
        meta.setdefault("CONTENT_LENGTH", str(len(body)))
        body = body[:-cut]
    meta.setdefault("wsgi.input", io.BytesIO(body))
    return client.post("/compose/", body, content_type=content_type, **meta)


def test_a_body_far_longer_than_the_room_left_is_refused_before_any_file_is_written(
    quotas: Any, login: Any, doctor: User, patient: User, opened: list[str]
) -> None:
    quotas(paid=1 * MB)
    client = login(doctor)

    # The Content-Length, less all a form's fields and part headers could take, is still
    # more than the room: no byte needs to be written to know.
    refused = _raw_compose(client, patient, {"a.bin": b"a" * 10, "big.bin": b"b" * (6 * MB)})

    assert refused.status_code == 400
    assert _refusal(None, "0 bytes", "1 MB", "1 MB") in text_of(refused.content.decode())
    assert opened == []
    assert not Message.objects.exists()


def test_a_content_length_that_lies_or_is_missing_stores_nothing_and_is_never_a_500(
    quotas: Any, login: Any, doctor: User, patient: User
) -> None:
    quotas(paid=1 * MB)
    client = login(doctor)
    client.raise_request_exception = False
    files = {"scan.bin": b"s" * (300 * KB)}
    body, _ = _multipart({"to": patient.email}, files)

    answers = {
        # Announces more than it sends (the client went away): the body ends mid-file.
        "longer": _raw_compose(client, patient, files, cut=100 * KB),
        # Announces less than it sends: the body is cut where it said it would end, so
        # a short length can't slip bytes past the count.
        "shorter": _raw_compose(client, patient, files, CONTENT_LENGTH=str(len(body) // 2)),
        # A length that tells nothing (under the room and all a form may hold besides its
        # files), a file past the quota: refused as its bytes arrive.
        "past the quota": _raw_compose(client, patient, {"big.bin": b"b" * (2 * MB)}),
        "negative": _raw_compose(client, patient, files, CONTENT_LENGTH="-5"),
        "not a number": _raw_compose(client, patient, files, CONTENT_LENGTH="lots"),
        "missing": _raw_compose(client, patient, files, CONTENT_LENGTH=""),
    }

    statuses = {case: answer.status_code for case, answer in answers.items()}
    assert statuses == dict.fromkeys(answers, 400)
    assert not Message.objects.exists()
    assert not Attachment.objects.exists()
    assert blob_files() == set()
    refused = text_of(answers["past the quota"].content.decode())
    assert _refusal("big.bin", "0 bytes", "1 MB", "1 MB") in refused
    assert "The upload was interrupted" in text_of(answers["longer"].content.decode())

    # A length larger than the whole body that did arrive: its real bytes are what count.
    sent = _raw_compose(client, patient, files, CONTENT_LENGTH=str(len(body) * 2))

    assert sent.status_code == 302
    assert _used(doctor) == 300 * KB


# --- shown in the menu and on the profile page, for one query ------------------------------


def test_the_menu_and_the_profile_page_show_the_use_for_one_query(
    quotas: Any, login: Any, doctor: User, patient: User
) -> None:
    quotas(paid=250 * MB)
    send_with_files(doctor, patient, files={"scan.bin": b"s" * (3 * MB + 400 * KB)})
    client = login(doctor)
    client.get("/")  # the session's first page notes what it checks once

    with CaptureQueriesContext(connection) as queries:
        page = client.get("/accounts/profile/")

    html = page.content.decode()
    assert "3.4 MB of 250 MB used" in text_of(html.split('class="account"', 1)[1])
    assert f"3.4 MB of 250 MB used; {human_size(250 * MB - (3 * MB + 400 * KB))} left." in (
        text_of(html)
    )
    assert html.count('<meter min="0" max="262144000" value="3555328"') == 1
    assert html.count("<meter") == 2
    counting = [q["sql"] for q in queries.captured_queries if "messaging_attachment" in q["sql"]]
    # The menu and the page share one query.
    assert len(counting) == 1, counting


def test_pages_that_draw_no_menu_pay_nothing_for_it(
    login: Any, doctor: User, patient: User
) -> None:
    client = login(doctor)
    client.get("/")

    with CaptureQueriesContext(connection) as queries:
        saved = client.post("/compose/draft/", {"to": patient.email, "subject": "Draft"})

    assert saved.status_code == 200
    assert not [q for q in queries.captured_queries if "messaging_attachment" in q["sql"]]


def test_someone_else_never_sees_anothers_use(
    quotas: Any, client: Client, doctor: User, patient: User
) -> None:
    quotas(paid=250 * MB, free=250 * MB)
    send_with_files(doctor, patient, files={"scan.bin": b"s" * (2 * MB)})

    mine = text_of(as_user(client, patient).get("/").content.decode())

    assert "0 bytes of 250 MB used" in mine
    assert "2 MB of 250 MB used" in text_of(as_user(client, doctor).get("/").content.decode())
