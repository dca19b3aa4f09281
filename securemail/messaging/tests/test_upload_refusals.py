"""A post with files that is refused stores nothing (issue 9): refused before its body is
read (anonymous, a free account composing, a message out of reach, another site's form or
no CSRF cookie), nothing is even written; refused after (a wrong CSRF token, too many
files, over a size limit, a body cut off mid-file, an error while sending), what was
written is deleted before the answer. More files than Django parses is a clear 400 page.

Each test compares the file store before and after, on a store of the test's own."""

import uuid
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from securemail.accounts.models import User
from securemail.core.blobs import LocalBlobStore
from securemail.messaging.models import Attachment, Message
from securemail.messaging.tests.helpers import send, text_of
from securemail.messaging.uploads import INTERRUPTED_TEXT, UPLOAD_FIELD
from tests.support import file_upload

pytestmark = pytest.mark.django_db

TOO_MANY = "Attach at most 10 files to one message."
BACKEND = "securemail.accounts.backends.EmailBackend"


def _tree(root: Path) -> set[Path]:
    """Everything under the file store: folders as well as files."""
    return set(root.rglob("*")) if root.exists() else set()


def _files(root: Path) -> set[Path]:
    return {p for p in _tree(root) if p.is_file()}


@pytest.fixture
def store(own_files: Path) -> Path:
    return own_files / "blobs"


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


def _files_to_send(count: int, size: int = 2000) -> list[Any]:
    return [file_upload(f"scan-{i}.txt", b"x" * size) for i in range(count)]


def _post(client: Client, kind: str, parent: Message, files: list[Any], **fields: str) -> Any:
    """POST the compose form (to `parent`'s recipient) or a reply to `parent`, with `files`."""
    data: dict[str, Any] = {"body": "Files attached.", "client_token": str(uuid.uuid4())}
    if kind == "compose":
        data |= {"to": _recipient(parent), "subject": "Post-op instructions"}
    data |= fields
    data[UPLOAD_FIELD] = files
    return client.post("/compose/" if kind == "compose" else f"/m/{parent.pk}/reply/", data)


def _recipient(message: Message) -> str:
    return message.deliveries.get().recipient.email


@pytest.fixture
def parent(doctor: User, patient: User) -> Message:
    """A message from the doctor to the patient, for replies (and as the address to write
    to when composing)."""
    return send(doctor, patient)


def _client_of(user: User, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user, backend=BACKEND)
    return client


WRITER = {"compose": "doctor", "reply": "patient"}


# --- refused before the body is read: nothing is ever written --------------------------


@pytest.mark.parametrize("kind", ["compose", "reply"])
def test_an_anonymous_post_with_files_is_sent_to_log_in_and_writes_nothing(
    kind: str, client: Client, parent: Message, store: Path, opened: list[str]
) -> None:
    before = _tree(store)

    response = _post(client, kind, parent, _files_to_send(3))

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert opened == []
    assert _tree(store) == before


def test_a_free_account_composing_with_files_is_refused_and_writes_nothing(
    free_staff: User, parent: Message, store: Path, opened: list[str]
) -> None:
    before = _tree(store)

    response = _post(_client_of(free_staff), "compose", parent, _files_to_send(3))

    assert response.status_code == 403
    assert opened == []
    assert _tree(store) == before
    assert Message.objects.count() == 1


@pytest.mark.parametrize("persona", ["outsider", "other_doctor"])
def test_a_reply_with_files_to_a_message_out_of_reach_is_a_404_and_writes_nothing(
    persona: str, request: Any, parent: Message, store: Path, opened: list[str]
) -> None:
    before = _tree(store)

    response = _post(
        _client_of(request.getfixturevalue(persona)), "reply", parent, _files_to_send(3)
    )

    assert response.status_code == 404
    assert opened == []
    assert _tree(store) == before
    assert Message.objects.count() == 1


@pytest.mark.parametrize("kind", ["compose", "reply"])
def test_another_sites_form_or_no_csrf_cookie_is_refused_before_any_file_is_written(
    kind: str, request: Any, parent: Message, store: Path, opened: list[str]
) -> None:
    writer = request.getfixturevalue(WRITER[kind])
    before = _tree(store)

    # No CSRF cookie at all (the form was never loaded from this site).
    no_cookie = _post(_client_of(writer, csrf=True), kind, parent, _files_to_send(2))
    # A form on another site posting with the person's cookies.
    client = _client_of(writer, csrf=True)
    client.get("/compose/" if kind == "compose" else f"/m/{parent.pk}/")
    token = client.cookies["csrftoken"].value
    cross_site = client.post(
        "/compose/" if kind == "compose" else f"/m/{parent.pk}/reply/",
        {"body": "x", "csrfmiddlewaretoken": token, UPLOAD_FIELD: _files_to_send(2)},
        headers={"origin": "https://attacker.example"},
    )

    assert no_cookie.status_code == cross_site.status_code == 403
    assert opened == []
    assert _tree(store) == before


# --- refused once the body is read: what was written is gone ----------------------------


@pytest.mark.parametrize("kind", ["compose", "reply"])
def test_a_wrong_csrf_token_is_refused_and_leaves_no_file_behind(
    kind: str, request: Any, parent: Message, store: Path, opened: list[str]
) -> None:
    client = _client_of(request.getfixturevalue(WRITER[kind]), csrf=True)
    client.get("/compose/" if kind == "compose" else f"/m/{parent.pk}/")
    before = _files(store)

    response = _post(client, kind, parent, _files_to_send(3), csrfmiddlewaretoken="x" * 64)

    assert response.status_code == 403
    # The token travels in the body: the files were read (and encrypted) to find it...
    assert len(opened) == 3
    # ...and deleted once the request was refused.
    assert _files(store) == before
    assert Message.objects.count() == 1

    # The same post with the page's token goes through: the token was what was refused.
    token = client.cookies["csrftoken"].value
    response = _post(client, kind, parent, _files_to_send(3), csrfmiddlewaretoken=token)

    assert response.status_code == 302, response.content[:500]
    assert len(_files(store) - before) == 3 == Attachment.objects.count()


@pytest.mark.parametrize("kind", ["compose", "reply"])
def test_more_files_than_one_message_takes_is_a_clear_400_and_the_extra_ones_are_not_written(
    kind: str, request: Any, parent: Message, store: Path, opened: list[str]
) -> None:
    client = _client_of(request.getfixturevalue(WRITER[kind]))
    before = _files(store)

    response = _post(client, kind, parent, _files_to_send(11))

    assert response.status_code == 400
    page = response.content.decode()
    assert TOO_MANY in text_of(page)
    # The form comes back as it was typed.
    assert "Files attached." in page
    assert len(opened) == 10
    assert _files(store) == before
    assert Message.objects.count() == 1
    assert not Attachment.objects.exists()


@pytest.mark.parametrize("kind", ["compose", "reply"])
def test_more_files_than_django_parses_is_a_clear_400_page_not_a_500(
    kind: str, request: Any, parent: Message, store: Path, opened: list[str], settings: Any
) -> None:
    client = _client_of(request.getfixturevalue(WRITER[kind]))
    client.raise_request_exception = False
    before = _files(store)
    count = settings.DATA_UPLOAD_MAX_NUMBER_FILES + 1

    response = _post(client, kind, parent, _files_to_send(count, size=10))

    assert response.status_code == 400
    page = text_of(response.content.decode())
    assert "Too many files" in page
    assert TOO_MANY in page
    assert "Nothing was sent" in page
    # Our own limit stopped the writing at ten files; Django's stopped the parsing.
    assert len(opened) == 10
    assert _files(store) == before
    assert Message.objects.count() == 1


def test_files_after_the_message_total_is_passed_are_not_written_and_none_is_kept(
    doctor: User, parent: Message, store: Path, opened: list[str], settings: Any
) -> None:
    settings.SECUREMAIL_MAX_MESSAGE_ATTACHMENTS_BYTES = 1024 * 1024
    before = _files(store)

    response = _post(_client_of(doctor), "compose", parent, _files_to_send(3, size=600 * 1024))

    assert response.status_code == 400
    assert "Attachments on one message can add up to 1 MB at most." in text_of(
        response.content.decode()
    )
    # The first fitted, the second passed the total while it was written, the third was
    # never started.
    assert len(opened) == 2
    assert _files(store) == before
    assert Message.objects.count() == 1


@pytest.mark.parametrize("kind", ["compose", "reply"])
def test_a_body_cut_off_in_the_middle_of_a_file_sends_nothing_and_keeps_nothing(
    kind: str, request: Any, parent: Message, store: Path, opened: list[str]
) -> None:
    client = _client_of(request.getfixturevalue(WRITER[kind]))
    fields = {"body": "Two scans.", "client_token": str(uuid.uuid4())}
    if kind == "compose":
        fields |= {"to": _recipient(parent), "subject": "Scans"}
    boundary = "----SecureMailCutOff"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    body = "".join(parts).encode()
    for name in ("first.bin", "second.bin"):
        body += (
            (
                f"--{boundary}\r\nContent-Disposition: form-data; "
                f'name="{UPLOAD_FIELD}"; filename="{name}"\r\n\r\n'
            ).encode()
            + b"\x01" * 200_000
            + b"\r\n"
        )
    before = _files(store)

    # The client went away halfway through the second file.
    response = client.post(
        "/compose/" if kind == "compose" else f"/m/{parent.pk}/reply/",
        body[:-100_000],
        content_type=f"multipart/form-data; boundary={boundary}",
    )

    assert response.status_code == 400
    assert INTERRUPTED_TEXT in text_of(response.content.decode())
    assert len(opened) == 2
    assert _files(store) == before
    # Before the fix the message went out, its first file pointing at a deleted blob.
    assert Message.objects.count() == 1
    assert not Attachment.objects.exists()


def test_an_error_while_sending_leaves_no_file_behind(
    doctor: User, parent: Message, store: Path, opened: list[str], monkeypatch: Any
) -> None:
    from securemail.messaging.services import sending

    def fails(**_: Any) -> None:
        raise RuntimeError("the database went away")

    # The files are stored with the message; the transaction then fails and rolls back.
    monkeypatch.setattr(sending, "deliver_all", fails)
    client = _client_of(doctor)
    client.raise_request_exception = False
    before = _files(store)

    response = _post(client, "compose", parent, _files_to_send(2))

    assert response.status_code == 500
    assert len(opened) == 2
    assert _files(store) == before
    assert not Attachment.objects.exists()
