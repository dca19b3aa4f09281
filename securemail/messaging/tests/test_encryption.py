"""Encryption at rest (SPEC §6): no plaintext in the database, tampered or moved ciphertext
is never shown, and logs carry no message content."""

import logging
import uuid
from typing import Any

import pytest
from django.db import connection

from securemail.accounts.models import User
from securemail.messaging.models import Message
from securemail.messaging.tests.helpers import BODY, PHI_WORDS, SUBJECT, compose, send
from securemail.notifications.services import deliver_due
from tests.support import client_token

pytestmark = pytest.mark.django_db

UNAVAILABLE = b"This message can't be shown"


def _as_bytes(value: Any) -> bytes:
    if isinstance(value, memoryview | bytearray):
        return bytes(value)
    if isinstance(value, bytes):
        return value
    return str(value).encode()


def _raw_rows(table: str) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
        return list(cursor.fetchall())


def _leaks(values: list[bytes]) -> list[str]:
    secrets = [SUBJECT, BODY, *PHI_WORDS]
    return [s for s in secrets for v in values if s.encode() in v or s.lower().encode() in v]


def test_subject_and_body_are_not_in_the_database_in_plaintext(
    login: Any, doctor: User, staff: User
) -> None:
    response = compose(login(doctor), to=staff.email)
    assert response.status_code == 302
    message = Message.objects.get()

    # The model's fields hold ciphertext only...
    for field in ("subject_sealed", "body_sealed", "wrapped_key"):
        assert _leaks([bytes(getattr(message, field))]) == []
    # ...and so does the raw row, read past the ORM.
    [row] = _raw_rows(Message._meta.db_table)
    assert _leaks([_as_bytes(value) for value in row]) == []
    # A dump of every table reveals nothing either (outbox, audit, sessions included).
    dump = {
        (table, _as_bytes(value))
        for table in connection.introspection.table_names()
        for row in _raw_rows(table)
        for value in row
    }
    assert [(table, v) for table, v in dump if _leaks([v])] == []
    # While the owner still reads it in clear.
    assert SUBJECT.encode() in login(staff).get(f"/m/{message.pk}/").content


@pytest.mark.parametrize("field", ["subject_sealed", "body_sealed", "wrapped_key"])
def test_ciphertext_moved_to_another_message_is_never_shown(
    field: str, login: Any, doctor: User, staff: User
) -> None:
    first = send(doctor, staff, subject="First subject alpha", body="First body alpha")
    second = send(doctor, staff, subject="Second subject beta", body="Second body beta")
    Message.objects.filter(pk=first.pk).update(**{field: bytes(getattr(second, field))})
    Message.objects.filter(pk=second.pk).update(**{field: bytes(getattr(first, field))})
    client = login(staff)

    for message in (first, second):
        page = client.get(f"/m/{message.pk}/")
        assert page.status_code == 500
        assert UNAVAILABLE in page.content
        for text in (b"alpha", b"beta"):
            assert text not in page.content

    inbox = client.get("/")
    assert inbox.status_code == 200
    if field == "body_sealed":
        # The subjects are intact and stay in their own rows.
        assert inbox.content.index(b"Second subject beta") < inbox.content.index(b"First subject")
        assert b"body alpha" not in inbox.content
        assert b"body beta" not in inbox.content
    else:
        # Neither subject is shown, and the inbox says so instead of showing the wrong one.
        assert b"alpha" not in inbox.content
        assert b"beta" not in inbox.content
        assert inbox.content.count(b"(this message can&#x27;t be shown)") == 2


@pytest.mark.parametrize("field", ["subject_sealed", "body_sealed", "wrapped_key"])
@pytest.mark.parametrize("position", [0, 20, -1])
def test_a_flipped_byte_makes_the_message_unavailable(
    field: str, position: int, login: Any, doctor: User, staff: User
) -> None:
    message = send(doctor, staff)
    tampered = bytearray(bytes(getattr(message, field)))
    tampered[position] ^= 0x01
    Message.objects.filter(pk=message.pk).update(**{field: bytes(tampered)})
    client = login(staff)

    page = client.get(f"/m/{message.pk}/")

    assert page.status_code == 500
    assert UNAVAILABLE in page.content
    assert _leaks([page.content]) == []
    response = client.post(
        f"/m/{message.pk}/reply/", {"body": "ok", "client_token": str(uuid.uuid4())}
    )
    if field == "body_sealed":
        # A reply quotes only the subject, which is intact.
        assert response.status_code == 302
    else:
        # A reply would quote the subject ("Re: …"): it gets the same page, nothing sent.
        assert response.status_code == 500
        assert UNAVAILABLE in response.content
        assert Message.objects.count() == 1
    assert _leaks([response.content]) == []


def test_a_whole_envelope_moved_to_another_message_is_never_shown(
    login: Any, doctor: User, staff: User
) -> None:
    # Key, subject and body moved together: each row's own data key no longer helps, only
    # the associated data naming the row can tell.
    first = send(doctor, staff, subject="First subject alpha", body="First body alpha")
    second = send(doctor, staff, subject="Second subject beta", body="Second body beta")
    envelope = ("wrapped_key", "subject_sealed", "body_sealed")
    Message.objects.filter(pk=first.pk).update(**{f: bytes(getattr(second, f)) for f in envelope})
    Message.objects.filter(pk=second.pk).update(**{f: bytes(getattr(first, f)) for f in envelope})
    client = login(staff)

    for message in (first, second):
        page = client.get(f"/m/{message.pk}/")
        assert page.status_code == 500
        assert UNAVAILABLE in page.content
        assert b"alpha" not in page.content
        assert b"beta" not in page.content
    inbox = client.get("/")
    assert inbox.status_code == 200
    assert b"alpha" not in inbox.content
    assert b"beta" not in inbox.content


# The wrapped key's header: format (1 byte), key version (4), expiry day ordinal (4).
@pytest.mark.parametrize("position", range(9))
@pytest.mark.parametrize("bit", [0x01, 0x04, 0x80])
def test_a_flipped_bit_in_the_wrapped_keys_header_is_refused_not_a_crash(
    position: int, bit: int, login: Any, doctor: User, staff: User
) -> None:
    message = send(doctor, staff)
    tampered = bytearray(bytes(message.wrapped_key))
    tampered[position] ^= bit
    Message.objects.filter(pk=message.pk).update(wrapped_key=bytes(tampered))
    client = login(staff)

    page = client.get(f"/m/{message.pk}/")

    assert page.status_code == 500
    assert UNAVAILABLE in page.content
    assert _leaks([page.content]) == []
    inbox = client.get("/")
    assert inbox.status_code == 200
    assert b"(this message can&#x27;t be shown)" in inbox.content


def test_logs_carry_no_subject_or_body(
    all_logs: Any, settings: Any, client: Any, login: Any, doctor: User, staff: User
) -> None:
    # Django logs SQL (with its parameters) only with DEBUG on.
    settings.DEBUG = True
    sender = login(doctor)
    # A refused form, a send, delivery, reading, a reply and a tampered message.
    assert compose(sender, to="new.person@example.test").status_code == 400
    assert compose(sender, to=staff.email).status_code == 302
    message = Message.objects.get()
    deliver_due()
    client.force_login(staff, backend="securemail.accounts.backends.EmailBackend")
    page = client.get(f"/m/{message.pk}/")
    assert SUBJECT.encode() in page.content
    response = client.post(
        f"/m/{message.pk}/reply/",
        {"body": "Noted: chlorhexidine twice daily.", "client_token": client_token(page)},
    )
    assert response.status_code == 302
    Message.objects.filter(pk=message.pk).update(body_sealed=b"\x00" * 40)
    assert client.get(f"/m/{message.pk}/").status_code == 500

    records = all_logs.records
    # The capture really saw the traffic: SQL and the integrity failure.
    assert any(r.name == "django.db.backends" for r in records)
    assert any("failed its integrity check" in r.getMessage() for r in records)
    texts = [r.getMessage().encode() for r in records] + [repr(r.args).encode() for r in records]
    assert _leaks(texts) == []


@pytest.mark.parametrize("path", ["/m/{pk}/", "/m/{pk}/print/", "/m/{pk}/forward/"])
def test_every_page_that_refuses_damaged_content_logs_it_by_id(
    path: str, login: Any, doctor: User, staff: User, caplog: Any
) -> None:
    message = send(doctor, staff)
    tampered = bytearray(bytes(message.subject_sealed))
    tampered[-1] ^= 0x01
    Message.objects.filter(pk=message.pk).update(subject_sealed=bytes(tampered))
    caplog.set_level(logging.ERROR)
    client = login(doctor)
    url = path.format(pk=message.pk)

    if path.endswith("forward/"):
        response = client.post(
            url, {"to": staff.email, "body": "FYI", "client_token": str(uuid.uuid4())}
        )
    else:
        response = client.get(url)

    assert response.status_code == 500
    assert UNAVAILABLE in response.content
    logged = [r.getMessage() for r in caplog.records if "integrity check" in r.getMessage()]
    assert logged == [f"messaging: content of Message {message.pk} failed its integrity check"]
