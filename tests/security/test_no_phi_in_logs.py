"""Issue 3, point 7: no decrypted content outside the store. An error while a message is
being shown, or a failed decrypt, is logged without the subject, the body or file names."""

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from securemail.accounts.models import User
from securemail.messaging import services
from securemail.messaging.models import Attachment, Message
from tests.security.helpers import UNAVAILABLE, compose_with_files, log_output, new_marker
from tests.support import attachment_url, blob_path, file_upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(login: Any, doctor: User, patient: User) -> dict[str, Any]:
    """A message with an attachment, sent through the compose page, with markers in its
    subject, body, file name and file content."""
    markers = {
        "subject": new_marker("subject"),
        "body": new_marker("body"),
        "name": new_marker("filename"),
        "content": new_marker("content"),
    }
    response = compose_with_files(
        login(doctor),
        to=patient.email,
        subject=f"Lab results {markers['subject']}",
        body=f"HbA1c 8.1 {markers['body']}",
        files=[file_upload(f"{markers['name']}.txt", markers["content"].encode() * 20)],
    )
    assert response.status_code == 302
    reader = Client(raise_request_exception=False)
    reader.force_login(patient, backend="securemail.accounts.backends.EmailBackend")
    return {
        "markers": markers,
        "message": Message.objects.get(),
        "attachment": Attachment.objects.get(),
        "reader": reader,
    }


def _assert_no_markers(data: bytes, markers: dict[str, str]) -> None:
    assert [k for k, m in markers.items() if m.encode() in data] == []


@pytest.fixture
def sql_logged() -> Iterator[None]:
    """Log every SQL statement with its parameters, as DEBUG would, without DEBUG's
    technical error page (a developer tool that shows local variables)."""
    connection.force_debug_cursor = True
    try:
        yield
    finally:
        connection.force_debug_cursor = False


def test_an_error_while_showing_a_message_logs_no_content(
    case: dict[str, Any], all_logs: Any, sql_logged: None, monkeypatch: Any
) -> None:
    def broken_mark_read(**kwargs: Any) -> None:
        raise RuntimeError("mailbox update failed")

    monkeypatch.setattr(services, "mark_read", broken_mark_read)
    all_logs.clear()

    response = case["reader"].get(f"/m/{case['message'].pk}/")

    assert response.status_code == 500
    # Control: the error was logged with its traceback, and the capture saw the SQL.
    assert [r for r in all_logs.records if r.name == "django.request" and r.exc_info]
    assert any(r.name == "django.db.backends" for r in all_logs.records)
    output = log_output(all_logs)
    assert b"mailbox update failed" in output
    assert b"Traceback" in output
    _assert_no_markers(output, case["markers"])
    # The error page carries nothing either.
    _assert_no_markers(response.content, case["markers"])


def test_a_body_that_fails_to_decrypt_is_logged_without_the_subject(
    case: dict[str, Any], all_logs: Any
) -> None:
    # The subject opens; the body does not. Nothing opened may reach the log or the page.
    message = case["message"]
    body = bytearray(bytes(message.body_sealed))
    body[-1] ^= 0x01
    Message.objects.filter(pk=message.pk).update(body_sealed=bytes(body))
    all_logs.clear()

    response = case["reader"].get(f"/m/{message.pk}/")

    assert response.status_code == 500
    assert UNAVAILABLE in response.content
    output = log_output(all_logs)
    assert b"failed its integrity check" in output
    assert str(message.pk).encode() in output
    _assert_no_markers(output, case["markers"])
    _assert_no_markers(response.content, case["markers"])


def test_an_attachment_that_fails_to_decrypt_is_logged_without_its_name_or_content(
    case: dict[str, Any], all_logs: Any
) -> None:
    attachment = case["attachment"]
    path = blob_path(attachment.blob_name)
    data = bytearray(path.read_bytes())
    data[0] ^= 0x01
    path.write_bytes(bytes(data))
    all_logs.clear()

    response = case["reader"].get(attachment_url(attachment))

    assert response.status_code == 500
    assert UNAVAILABLE in response.content
    output = log_output(all_logs)
    assert b"failed its integrity check" in output
    _assert_no_markers(output, case["markers"])
    _assert_no_markers(response.content, case["markers"])
