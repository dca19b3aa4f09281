"""Issue 3, point 2: every attachment has its own data key and its ciphertexts are bound to
their row and field. Swapped or altered ciphertext fails its check: the reader gets "This
message can't be shown", the event is logged (without content), and the other file's
content is never served."""

import logging
from typing import Any

import pytest
from django.db import transaction

from securemail.accounts.models import User
from securemail.messaging.models import Attachment, Message
from tests.security.helpers import UNAVAILABLE, compose_with_files, log_output, new_marker
from tests.support import attachment_url, blob_path, downloaded, file_upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_attachments(login: Any, doctor: User, patient: User) -> dict[str, Any]:
    """One message with two attachments, sent through the compose page, both readable."""
    names = [new_marker("firstname"), new_marker("secondname")]
    contents = [new_marker("firstcontent").encode() * 50, new_marker("secondcontent").encode() * 50]
    response = compose_with_files(
        login(doctor),
        to=patient.email,
        subject="Two files",
        body="See attached.",
        files=[file_upload(f"{n}.txt", c) for n, c in zip(names, contents, strict=True)],
    )
    assert response.status_code == 302
    first, second = Attachment.objects.order_by("position")
    reader = login(patient)
    # Control: untouched, each downloads as itself.
    for attachment, content in ((first, contents[0]), (second, contents[1])):
        download = reader.get(attachment_url(attachment))
        assert download.status_code == 200
        assert downloaded(download) == content
    return {
        "reader": reader,
        "first": first,
        "second": second,
        "names": names,
        "contents": contents,
    }


ENVELOPE = ["wrapped_key", "name_sealed", "blob_name"]


def _swap(first: Attachment, second: Attachment, fields: list[str]) -> None:
    a = {f: getattr(first, f) for f in fields}
    b = {f: getattr(second, f) for f in fields}
    with transaction.atomic():
        if "blob_name" in fields:
            # blob_name is unique: park one value while the other moves.
            Attachment.objects.filter(pk=first.pk).update(blob_name="f" * 32)
        Attachment.objects.filter(pk=second.pk).update(**a)
        Attachment.objects.filter(pk=first.pk).update(**b)


def _assert_refused_and_logged(response: Any, caplog: Any, case: dict[str, Any]) -> None:
    assert response.status_code == 500
    page = downloaded(response)
    assert UNAVAILABLE in page
    for content in case["contents"]:
        assert content[:40] not in page
    for name in case["names"]:
        assert name.encode() not in page
    failures = [
        r
        for r in caplog.records
        if r.levelno >= logging.ERROR and "failed its integrity check" in r.getMessage()
    ]
    assert failures, "the integrity failure was not logged"
    logs = log_output(caplog)
    for marker in [*case["names"], *(c[:40].decode() for c in case["contents"])]:
        assert marker.encode() not in logs


@pytest.mark.parametrize(
    "fields",
    [["name_sealed"], ["blob_name"], ["wrapped_key"], ENVELOPE],
    ids=["name", "blob", "wrapped-key", "whole-envelope"],
)
def test_swapping_ciphertext_between_two_attachments_shows_neither(
    fields: list[str], two_attachments: dict[str, Any], caplog: Any
) -> None:
    # Each row's own data key already stops a single field; the whole envelope (key, name
    # and blob together) is stopped only by the associated data naming the row.
    case = two_attachments
    _swap(case["first"], case["second"], fields)
    caplog.set_level(logging.DEBUG)

    for attachment in (case["first"], case["second"]):
        response = case["reader"].get(attachment_url(attachment))
        _assert_refused_and_logged(response, caplog, case)


@pytest.mark.parametrize("offset", [0, 12, 200, -1])
def test_a_flipped_byte_in_a_blob_file_makes_the_download_unavailable(
    offset: int, two_attachments: dict[str, Any], caplog: Any
) -> None:
    case = two_attachments
    path = blob_path(case["first"].blob_name)
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))
    caplog.set_level(logging.DEBUG)

    response = case["reader"].get(attachment_url(case["first"]))

    _assert_refused_and_logged(response, caplog, case)
    # The other file is untouched and still opens.
    assert downloaded(case["reader"].get(attachment_url(case["second"]))) == case["contents"][1]


def test_a_byte_flipped_late_in_a_large_file_stops_the_download_before_it(
    login: Any, doctor: User, patient: User
) -> None:
    from securemail.core.stream import CHUNK, SEALED_CHUNK
    from securemail.messaging.content import ContentUnavailable

    content = bytes(range(256)) * (3 * CHUNK // 256) + b"tail"
    response = compose_with_files(
        login(doctor),
        to=patient.email,
        subject="Scan",
        body="Large scan attached.",
        files=[file_upload("scan.bin", content, "application/octet-stream")],
    )
    assert response.status_code == 302
    attachment = Attachment.objects.get()
    path = blob_path(attachment.blob_name)
    data = bytearray(path.read_bytes())
    # A byte of the third sealed piece: the first two are intact and verified.
    data[2 * SEALED_CHUNK + 5] ^= 0x01
    path.write_bytes(bytes(data))

    download = login(patient).get(attachment_url(attachment))
    assert download.status_code == 200
    received = bytearray()

    def read_all() -> None:
        for piece in download.streaming_content:
            received.extend(piece)

    with pytest.raises(ContentUnavailable):
        read_all()
    # Only the verified pieces before the damage went out, never a byte of the damaged one.
    assert bytes(received) == content[: 2 * CHUNK]


def test_a_file_moved_into_another_conversation_does_not_open_there(
    login: Any, doctor: User, patient: User, caplog: Any
) -> None:
    # Someone with write access to the database re-points a file at another message the
    # same reader can see: the key is bound to its message, so it refuses to open.
    secret = new_marker("movedfile").encode() * 20
    response = compose_with_files(
        login(doctor),
        to=patient.email,
        subject="With a file",
        body="See attached.",
        files=[file_upload("scan.txt", secret)],
    )
    assert response.status_code == 302
    other = compose_with_files(
        login(doctor), to=patient.email, subject="Without", body="No file.", files=[]
    )
    assert other.status_code == 302
    attachment = Attachment.objects.get()
    target = Message.objects.exclude(pk=attachment.message_id).get()
    Attachment.objects.filter(pk=attachment.pk).update(message=target)
    caplog.set_level(logging.DEBUG)

    download = login(patient).get(f"/m/{target.pk}/a/{attachment.pk}/")

    assert download.status_code == 500
    page = downloaded(download)
    assert UNAVAILABLE in page
    assert secret[:40] not in page


def test_a_message_given_another_sender_does_not_open(
    login: Any, doctor: User, staff: User, patient: User
) -> None:
    # Forging "who sent this" in the database makes the content unreadable, not misattributed.
    response = compose_with_files(
        login(doctor), to=patient.email, subject="From the doctor", body="Dosage.", files=[]
    )
    assert response.status_code == 302
    message = Message.objects.get()
    Message.objects.filter(pk=message.pk).update(sender=staff)

    page = login(patient).get(f"/m/{message.pk}/")

    assert page.status_code == 500
    assert UNAVAILABLE in downloaded(page)
    assert b"Dosage." not in downloaded(page)
