"""Issue 3, point 1: subjects, bodies, attachment names and contents are stored only as
ciphertext. A thief reading the database file (or a dump), the file store or the temporary
directory byte for byte finds none of them."""

import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from securemail.accounts.models import User
from securemail.messaging.models import Attachment, Message
from securemail.notifications.models import OutboxEmail
from securemail.notifications.services import _payload
from tests.security.helpers import (
    compose_with_files,
    file_holds,
    files_modified_since,
    files_under,
    leaked,
    new_marker,
)
from tests.support import file_upload

pytestmark = pytest.mark.django_db(transaction=True)

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_recording: list[str] | None = None
_recording_lock = threading.Lock()


def _on_audit(event: str, args: tuple[Any, ...]) -> None:
    # Every file Python opens for writing while a test records, deleted again or not
    # (Django's own upload handler writes a temporary file and removes it afterwards).
    if event != "open" or _recording is None:
        return
    path, mode, flags = args
    writing = (
        any(c in mode for c in "wax+") if isinstance(mode, str) else bool(flags & _WRITE_FLAGS)
    )
    if writing and isinstance(path, str | bytes | os.PathLike):
        with _recording_lock:
            if _recording is not None:
                _recording.append(os.path.realpath(os.fsdecode(path)))


sys.addaudithook(_on_audit)


@pytest.fixture
def files_written() -> Iterator[list[str]]:
    """The paths of every file opened for writing while the test runs."""
    global _recording
    _recording = []
    try:
        yield _recording
    finally:
        _recording = None


def _database_bytes() -> tuple[str, bytes]:
    """Everything the database holds, as a thief would take it: the raw SQLite file with
    its write-ahead log, or a pg_dump of the PostgreSQL database."""
    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        path = Path(settings_dict["NAME"])
        wal = path.with_name(path.name + "-wal")
        data = path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
        return "sqlite file", data
    assert connection.vendor == "postgresql"
    command = ["pg_dump", "--no-owner", "--dbname", settings_dict["NAME"]]
    if settings_dict.get("HOST"):
        command += ["--host", settings_dict["HOST"]]
    if settings_dict.get("PORT"):
        command += ["--port", str(settings_dict["PORT"])]
    if settings_dict.get("USER"):
        command += ["--username", settings_dict["USER"]]
    env = {**os.environ, "PGPASSWORD": settings_dict.get("PASSWORD") or ""}
    dump = subprocess.run(command, env=env, capture_output=True, check=True, timeout=60)
    return "pg_dump", dump.stdout


def test_a_message_sent_with_an_attachment_is_nowhere_in_clear(
    login: Any, doctor: User, patient: User, files_written: list[str]
) -> None:
    subject = new_marker("subject")
    body = new_marker("body")
    file_name = new_marker("filename")
    contents = new_marker("contents")
    markers = (subject, body, file_name, contents)
    # Larger than FILE_UPLOAD_MAX_MEMORY_SIZE (2.5 MB): Django's default handler would
    # write this upload to a temporary file in clear.
    data = (f"Radiograph notes {contents}\n".encode()) * 80_000
    assert len(data) > settings.FILE_UPLOAD_MAX_MEMORY_SIZE
    started = time.time() - 1

    response = compose_with_files(
        login(doctor),
        to=patient.email,
        subject=f"Biopsy {subject}",
        body=f"Results {body}",
        files=[file_upload(f"{file_name}.txt", data)],
    )

    assert response.status_code == 302
    during_upload = list(files_written)
    message = Message.objects.get()
    attachment = Attachment.objects.get(message=message)
    assert attachment.size == len(data)

    # The database, as stolen: the raw file (SQLite) or a dump (PostgreSQL).
    source, database = _database_bytes()
    assert leaked(database, *markers) == [], source
    # Control: the same bytes do hold what is stored in clear, so the search can find.
    assert patient.email.encode() in database, source

    # The file store: only ciphertext, about the size of the plaintext.
    stored = files_under(Path(settings.MEDIA_ROOT))
    assert stored, "the attachment was not stored at all"
    assert sum(p.stat().st_size for p in stored) >= len(data)
    assert {p: file_holds(p, *markers) for p in stored if file_holds(p, *markers)} == {}

    # The outbox rows (a "new message" email is queued) and what they decrypt to.
    outbox = list(OutboxEmail.objects.values())
    assert outbox
    for row in outbox:
        assert leaked(repr(row).encode(), *markers) == []
        for value in row.values():
            if isinstance(value, bytes | memoryview):
                assert leaked(bytes(value), *markers) == []
    for email in OutboxEmail.objects.all():
        assert leaked(repr(_payload(email)).encode(), *markers) == []

    # The upload never reached the disk in clear: no file changed during the test in the
    # temporary directory (where Django spools large uploads) holds the marker.
    control = Path(tempfile.gettempdir()) / f"securemail-control-{os.getpid()}"
    control.write_text(f"control {contents}")
    try:
        changed = list(files_modified_since(tempfile.gettempdir(), started))
        # Control: a file written now is found and its marker seen.
        assert control in changed
        assert file_holds(control, contents) == [contents]
        leaks = {str(p): file_holds(p, *markers) for p in changed if p != control}
        assert {p: found for p, found in leaks.items() if found} == {}
    finally:
        control.unlink()

    # Nor for a moment: nothing but the blob store was opened for writing during the
    # upload, not even a temporary file deleted right after.
    media = os.path.realpath(settings.MEDIA_ROOT) + os.sep
    # The shredding ratchet (key material, no content) may be created on first use.
    ratchet = os.path.realpath(settings.SECUREMAIL_RATCHET_FILE)
    blobs = [p for p in during_upload if p.startswith(media)]
    assert blobs, "the recorder saw no write at all, not even the attachment's blob"
    others = [p for p in during_upload if not p.startswith((media, ratchet))]
    assert others == []

    # And the owner still reads everything in clear.
    page = login(patient).get(f"/m/{message.pk}/")
    assert subject.encode() in page.content
    assert body.encode() in page.content
    assert file_name.encode() in page.content


def test_a_registration_link_kept_for_the_reminders_is_nowhere_in_clear(doctor: User) -> None:
    from securemail.onboarding.models import RecipientRole
    from securemail.onboarding.tests.helpers import invite

    # Read from the welcome email, which the worker then sends (and wipes).
    _, join_path = invite(doctor, "new.patient@mail.test", RecipientRole.PATIENT)
    token = join_path.strip("/").rsplit("/", 1)[-1]

    source, database = _database_bytes()
    assert leaked(database, token) == [], source
    # Control: the invited address is stored in clear, so the search can find.
    assert b"new.patient@mail.test" in database, source
