"""Issue 3, point 5: crypto-shredding that beats backups.

Every data key is wrapped under its key-encryption key and the key of the UTC day the
message expires; the worker destroys each day's key once that day has ended. So a copy of
the database taken before expiry ("the backup": message, attachment and delivery rows plus
the blob files), restored after the expiry day has ended and the worker has run, cannot be
decrypted. What is guaranteed for a sender's early delete: the content is gone from the live
database at once, and from older backups when the message's (original) expiry day ends.
"""

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from securemail.accounts.models import User
from securemail.core import crypto, shred
from securemail.messaging import services
from securemail.messaging.content import (
    ContentUnavailable,
    attachment_chunks,
    expiry_day,
    open_attachment,
    open_content,
)
from securemail.messaging.models import Attachment, Draft, Message
from securemail.messaging.services.drafts import open_draft
from securemail.ops.worker import periodic
from tests.security.helpers import DatabaseCopy
from tests.support import blob_path, encrypted_upload, frozen_clock

pytestmark = pytest.mark.django_db

# Mid-morning UTC, so expiry (a whole number of days later) falls early in its UTC day.
SENT_AT = datetime(2031, 5, 6, 9, 0, tzinfo=UTC)
SUBJECT = "Pathology: leukoplakia, left lateral tongue"
BODY = "Biopsy shows mild dysplasia; review in three months."
FILE_NAME = "biopsy-report.pdf"
FILE_CONTENT = b"%PDF-1.7 pathology report " * 4000


@pytest.fixture
def clock(tmp_path: Path) -> Iterator[Any]:
    """Time frozen at SENT_AT, with a shredding ratchet of this test's own (started then)."""
    with frozen_clock(SENT_AT, tmp_path) as traveller:
        yield traveller


@pytest.fixture
def worker(django_capture_on_commit_callbacks: Any) -> Any:
    """The worker's periodic pass (expire, then destroy ended days' keys), with what it
    queues for after commit (deleting blob files) run as a committed pass would."""

    def run() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            periodic()

    return run


def _send(doctor: User, patient: User) -> Message:
    message = services.send_message(
        sender=doctor,
        recipients=[services.RecipientSpec(email=patient.email)],
        subject=SUBJECT,
        body=BODY,
        attachments=[encrypted_upload(FILE_NAME, FILE_CONTENT)],
    )
    assert message.expires_at == SENT_AT + timedelta(days=doctor.default_expiry_days)
    return message


def _readable(message_id: Any) -> bool:
    """Open the restored copy as someone holding the database and the keyring would:
    True if subject, body, file name and contents all come back intact, False if the
    content is unavailable (any other outcome fails the test)."""
    message = Message.objects.get(pk=message_id)
    try:
        content = open_content(message)
        [attachment] = Attachment.objects.filter(message=message)
        opened = open_attachment(attachment)
        data = b"".join(attachment_chunks(opened))
    except ContentUnavailable:
        return False
    assert (content.subject, content.body) == (SUBJECT, BODY)
    assert (opened.name, data) == (FILE_NAME, FILE_CONTENT)
    return True


def _just_after(day: date) -> datetime:
    """The first second after `day` has ended (UTC)."""
    return datetime.combine(day + timedelta(days=1), time(0, 0, 1), tzinfo=UTC)


def _last_second_of(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


def test_a_backup_taken_before_expiry_is_unreadable_once_the_expiry_day_has_ended(
    clock: Any, worker: Any, doctor: User, patient: User
) -> None:
    message = _send(doctor, patient)
    day = expiry_day(message)
    [blob_name] = Attachment.objects.values_list("blob_name", flat=True)
    backup = DatabaseCopy.take()

    # The message expires; its UTC day has not ended yet.
    clock.move_to(message.expires_at + timedelta(minutes=1))
    worker()
    assert not Message.objects.filter(pk=message.pk).exists()
    assert not blob_path(blob_name).exists()

    # Control: restored now, the backup still reads (the day's key exists), which is what
    # makes the refusal below mean something.
    backup.restore()
    assert _readable(message.pk)
    backup.drop()

    # The expiry day ends and the worker runs: the day's key is destroyed.
    clock.move_to(_just_after(day))
    worker()
    with pytest.raises(shred.DayKeyShredded):
        shred.day_key(day)

    backup.restore()
    assert not _readable(message.pk)
    # Both the message and the attachment are gone, not only one of them.
    with pytest.raises(ContentUnavailable):
        open_content(Message.objects.get(pk=message.pk))
    with pytest.raises(ContentUnavailable):
        open_attachment(Attachment.objects.get(message_id=message.pk))


def test_after_an_early_delete_a_backup_reads_only_until_the_expiry_day_ends(
    clock: Any,
    worker: Any,
    doctor: User,
    patient: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    message = _send(doctor, patient)
    day = expiry_day(message)
    backup = DatabaseCopy.take()

    clock.move_to(SENT_AT + timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        services.delete_for_everyone(actor=doctor, message=message)
    assert not blob_path(backup.attachments[0]["blob_name"]).exists()
    worker()
    assert not Message.objects.filter(pk=message.pk).exists()
    assert not Attachment.objects.exists()

    # The documented guarantee: an earlier backup still holds it until its expiry day ends.
    backup.restore()
    assert _readable(message.pk)
    backup.drop()
    clock.move_to(_last_second_of(day))
    worker()
    backup.restore()
    assert _readable(message.pk)
    backup.drop()

    # ...and not a second longer.
    clock.move_to(_just_after(day))
    worker()
    backup.restore()
    assert not _readable(message.pk)


def test_an_earlier_expiry_moves_the_keys_to_the_earlier_day(
    clock: Any, worker: Any, doctor: User, patient: User
) -> None:
    message = _send(doctor, patient)
    old_day = expiry_day(message)
    backup_before = DatabaseCopy.take()

    services.change_expiry(actor=doctor, message=message, expires_at=SENT_AT + timedelta(days=2))
    new_day = expiry_day(Message.objects.get(pk=message.pk))
    assert new_day == old_day - timedelta(days=28)
    backup_after = DatabaseCopy.take()
    # The live keys were re-wrapped under the new day, the older copy still has the old one.
    for row in backup_after.messages + backup_after.attachments:
        assert crypto.wrapped_key_day(row["wrapped_key"]) == new_day
    for row in backup_before.messages + backup_before.attachments:
        assert crypto.wrapped_key_day(row["wrapped_key"]) == old_day

    clock.move_to(_just_after(new_day))
    worker()
    assert not Message.objects.filter(pk=message.pk).exists()

    # The rows as they were after the change: unreadable once the new day has ended.
    backup_after.restore()
    assert not _readable(message.pk)
    # A copy taken before the change is wrapped under the old, later day: it still reads
    # until that day ends (moving the expiry earlier can't reach into older backups).
    backup_before.restore()
    assert _readable(message.pk)
    backup_before.drop()

    clock.move_to(_just_after(old_day))
    worker()
    backup_before.restore()
    assert not _readable(message.pk)


def test_a_draft_in_a_backup_dies_with_the_message_it_became(
    clock: Any, worker: Any, doctor: User, patient: User
) -> None:
    # The doctor writes with a 1-day expiry; autosave stores the draft, then it is sent.
    fields = {"to": patient.email, "subject": SUBJECT, "body": BODY, "expiry_days": "1"}
    draft = services.save_draft(owner=doctor, draft_id=None, fields=fields)
    backup = [(row["id"], row["wrapped_key"], row["payload_sealed"]) for row in _draft_rows()]
    message = services.send_message(
        sender=doctor,
        recipients=[services.RecipientSpec(email=patient.email)],
        subject=SUBJECT,
        body=BODY,
        expiry_days=1,
    )
    services.delete_draft(owner=doctor, draft_id=draft.pk)
    day = expiry_day(message)
    assert crypto.wrapped_key_day(backup[0][1]) <= day

    clock.move_to(_just_after(day))
    worker()

    # The backup's draft row, restored with the keyring at hand, no longer opens.
    [(draft_id, wrapped_key, payload)] = backup
    restored = Draft(
        id=draft_id,
        owner=doctor,
        updated_at=SENT_AT,
        expires_at=SENT_AT + timedelta(days=1),
        wrapped_key=wrapped_key,
        payload_sealed=payload,
    )
    with pytest.raises(crypto.DecryptionError):
        open_draft(restored)


def test_a_draft_is_kept_as_long_as_its_chosen_expiry(
    clock: Any, doctor: User, patient: User
) -> None:
    doctor.default_expiry_days = 7
    short = services.save_draft(owner=doctor, draft_id=None, fields={"subject": "a"})
    chosen = services.save_draft(
        owner=doctor, draft_id=None, fields={"subject": "b", "expiry_days": "3"}
    )
    too_long = services.save_draft(
        owner=doctor, draft_id=None, fields={"subject": "c", "expiry_days": "90"}
    )

    assert short.expires_at == SENT_AT + timedelta(days=7)
    assert chosen.expires_at == SENT_AT + timedelta(days=3)
    assert too_long.expires_at == SENT_AT + timedelta(days=30)
    assert crypto.wrapped_key_day(chosen.wrapped_key) == (SENT_AT + timedelta(days=3)).date()


def _draft_rows() -> list[dict[str, Any]]:
    return [
        {k: bytes(v) if isinstance(v, memoryview) else v for k, v in row.items()}
        for row in Draft.objects.values("id", "wrapped_key", "payload_sealed")
    ]
