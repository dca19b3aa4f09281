"""Issue 3, point 4: a new key version is added, every data key is re-wrapped under it in
batches while readers keep opening messages, and the old version is retired once nothing
uses it. No read fails at any point."""

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from securemail.accounts.models import User
from securemail.accounts.tests.twostep import app_secret, turn_on_app
from securemail.core import crypto
from securemail.messaging import services
from securemail.messaging.content import (
    ContentUnavailable,
    attachment_chunks,
    open_attachment,
    open_content,
)
from securemail.messaging.models import Attachment, Message
from securemail.notifications.models import OutboxEmail
from securemail.notifications.services import _payload
from securemail.onboarding.links import open_link
from securemail.onboarding.models import RecipientRole
from securemail.onboarding.services import invite
from securemail.ops import keys
from tests.security.helpers import file_keyring, key_versions_in_use
from tests.support import encrypted_upload

pytestmark = pytest.mark.django_db

MESSAGES = 8
READERS = 2
FILE_CONTENT = bytes(range(256)) * 600  # a few stream pieces


@pytest.fixture
def keyring_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "keyring"
    with file_keyring(path):
        yield path


def _file_versions(path: Path) -> list[int]:
    return sorted(crypto.parse_keys(path.read_text()))


@pytest.fixture
def mailbox(keyring_file: Path, doctor: User, patient: User) -> dict[str, Any]:
    """Messages (one with an attachment) and their outbox emails, all under version 1."""
    expected: dict[Any, tuple[str, str]] = {}
    for n in range(MESSAGES):
        subject, body = f"Recall {n}", f"Your cleaning {n} is due."
        message = services.send_message(
            sender=doctor,
            recipients=[services.RecipientSpec(email=patient.email)],
            subject=subject,
            body=body,
            attachments=[encrypted_upload("xray.bin", FILE_CONTENT)] if n == 0 else [],
        )
        expected[message.pk] = (subject, body)
    assert _file_versions(keyring_file) == [1]
    assert key_versions_in_use() == {"Message": {1}, "Attachment": {1}, "OutboxEmail": {1}}
    return {"expected": expected, "path": keyring_file}


def _read_everything(expected: dict[Any, tuple[str, str]]) -> set[int]:
    """Open every message, attachment and queued email as the site does, from fresh rows.
    Returns the key versions seen."""
    seen: set[int] = set()
    for message in Message.objects.filter(pk__in=expected):
        content = open_content(message)
        assert (content.subject, content.body) == expected[message.pk]
        seen.add(message.key_version)
    for attachment in Attachment.objects.all():
        opened = open_attachment(attachment)
        assert opened.name == "xray.bin"
        assert b"".join(attachment_chunks(opened)) == FILE_CONTENT
        seen.add(attachment.key_version)
    for email in OutboxEmail.objects.exclude(wrapped_key=None):
        assert "subject" in _payload(email)
    return seen


class Readers:
    """Threads that keep reading everything until told to stop; each completed pass is
    counted, and any failure is kept."""

    def __init__(self, expected: dict[Any, tuple[str, str]]) -> None:
        self.expected = expected
        self.stop = threading.Event()
        self.passes = 0
        self.mixed_passes = 0
        self.errors: list[BaseException] = []
        self.changed = threading.Condition()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(READERS)]

    def _run(self) -> None:
        try:
            while not self.stop.is_set():
                seen = _read_everything(self.expected)
                with self.changed:
                    self.passes += 1
                    self.mixed_passes += len(seen) > 1
                    self.changed.notify_all()
        except BaseException as error:
            self.errors.append(error)
            with self.changed:
                self.changed.notify_all()
        finally:
            connection.close()

    def wait_for_passes(self, count: int) -> None:
        """Block until `count` more full passes have finished (or a reader failed)."""
        with self.changed:
            target = self.passes + count
            assert self.changed.wait_for(
                lambda: self.passes >= target or self.errors, timeout=30
            ), "readers stalled"

    def __enter__(self) -> "Readers":
        for thread in self.threads:
            thread.start()
        self.wait_for_passes(READERS)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)


@pytest.mark.django_db(transaction=True)
def test_rewrap_while_readers_read_fails_no_read_and_moves_every_key(
    mailbox: dict[str, Any], monkeypatch: Any
) -> None:
    expected, path = mailbox["expected"], mailbox["path"]
    sealed_before = dict(Message.objects.values_list("pk", "body_sealed"))
    call_command("keys", "add")
    assert _file_versions(path) == [1, 2]

    with Readers(expected) as readers:
        batch = keys._rewrap_batch

        def batch_then_let_readers_in(*args: Any, **kwargs: Any) -> int:
            done = batch(*args, **kwargs)
            # Every batch commits while readers are mid-pass; make sure they read the
            # half-rotated tables between batches, not only before and after.
            readers.wait_for_passes(READERS)
            return done

        monkeypatch.setattr(keys, "_rewrap_batch", batch_then_let_readers_in)
        call_command("keys", "rewrap", "--batch-size", "3")

    assert readers.errors == []
    assert readers.passes > 2 * READERS
    # Readers did see tables where some keys were moved and others not yet.
    assert readers.mixed_passes > 0
    assert key_versions_in_use() == {"Message": {2}, "Attachment": {2}, "OutboxEmail": {2}}
    # Only wrapped keys changed: the ciphertext itself was never rewritten.
    assert dict(Message.objects.values_list("pk", "body_sealed")) == {
        pk: bytes(sealed) for pk, sealed in sealed_before.items()
    }
    assert _read_everything(expected) == {2}


def test_old_version_is_retired_only_once_nothing_uses_it(mailbox: dict[str, Any]) -> None:
    expected, path = mailbox["expected"], mailbox["path"]
    call_command("keys", "add")

    # Still in use: refused, and the key stays in the file.
    with pytest.raises(CommandError, match="still use version 1"):
        call_command("keys", "retire", "1")
    assert _file_versions(path) == [1, 2]

    call_command("keys", "rewrap", "--batch-size", "3")
    call_command("keys", "retire", "1")

    assert _file_versions(path) == [2]
    assert _read_everything(expected) == {2}

    # The active version is never retired, whatever uses it.
    with pytest.raises(CommandError, match="active version"):
        call_command("keys", "retire", "2")
    assert _file_versions(path) == [2]
    assert _read_everything(expected) == {2}


def test_retiring_a_version_without_rewrapping_would_have_lost_messages(
    mailbox: dict[str, Any],
) -> None:
    # Control for the refusal above: with version 1 gone from the file, nothing opens.
    path = mailbox["path"]
    call_command("keys", "add")
    crypto.keyring().store.remove_version(1)
    assert _file_versions(path) == [2]

    message = Message.objects.first()
    assert message is not None
    with pytest.raises(ContentUnavailable, match=str(message.pk)):
        open_content(message)


def test_keys_given_in_the_environment_are_added_there_not_by_the_command() -> None:
    with pytest.raises(CommandError, match="SECUREMAIL_KEYS"):
        call_command("keys", "add")


def _models_with_wrapped_keys() -> set[str]:
    from django.apps import apps

    return {
        model._meta.label
        for model in apps.get_models()
        if any(field.name == "wrapped_key" for field in model._meta.get_fields())
    }


def test_every_table_holding_wrapped_keys_is_covered_by_rewrap() -> None:
    # A model that stores a wrapped key without stating its contexts (SealedRow) would be
    # left on an old key version by `keys rewrap`, and `keys retire` would then lose it.
    covered = {model._meta.label for model in keys.sealed_tables()}
    assert _models_with_wrapped_keys() == covered
    assert covered >= {
        "messaging.Message",
        "messaging.Attachment",
        "messaging.Draft",
        "notifications.OutboxEmail",
        "notifications.OutboxText",
        "accounts.AuthenticatorApp",
        "contacts.Contact",
        "onboarding.Invitation",
    }


def test_rewrap_moves_a_row_of_every_sealed_table_and_skips_none(
    keyring_file: Path, doctor: User, patient: User, caplog: Any
) -> None:
    from securemail.contacts.details import Details, open_details
    from securemail.contacts.services import add_contact
    from securemail.messaging.models import Draft
    from securemail.messaging.services.drafts import open_draft
    from securemail.notifications.models import NotificationKind, OutboxText
    from securemail.notifications.services import queue_text

    services.send_message(
        sender=doctor,
        recipients=[services.RecipientSpec(email=patient.email)],
        subject="Recall",
        body="Your cleaning is due.",
        attachments=[encrypted_upload("xray.bin", FILE_CONTENT)],
    )
    services.save_draft(owner=doctor, draft_id=None, fields={"subject": "Half-written"})
    contact = add_contact(
        owner=doctor, email="new.patient@mail.test", details=Details(name="Nell Newcomer")
    )
    queue_text(
        to="+12025550100",
        channel="sms",
        text="code 123456",
        kind=NotificationKind.VERIFICATION_CODE,
    )
    secret = turn_on_app(doctor)
    # An invitation keeps its link sealed for the reminders.
    invitation = invite(inviter=doctor, email="new.patient@mail.test", role=RecipientRole.PATIENT)
    token = open_link(invitation)
    call_command("keys", "add")

    with caplog.at_level("WARNING", logger="securemail.ops.keys"):
        call_command("keys", "rewrap")

    assert caplog.records == []
    for model in keys.sealed_tables():
        versions = set(
            model.objects.exclude(wrapped_key=None).values_list("key_version", flat=True)  # type: ignore[attr-defined]
        )
        assert versions == {2}, model._meta.label
    # And every row still opens with the contexts it states.
    assert open_draft(Draft.objects.get())["subject"] == "Half-written"
    contact.refresh_from_db()
    assert open_details(contact).name == "Nell Newcomer"
    text = OutboxText.objects.get()
    key = crypto.unwrap_data_key(bytes(text.wrapped_key or b""), context=text.key_context())
    sealed = bytes(text.sealed_payload or b"")
    assert crypto.open_sealed(key, sealed, context=text.sealed_context("payload")) == "code 123456"
    assert app_secret(doctor) == secret
    invitation.refresh_from_db()
    assert token is not None
    assert open_link(invitation) == token
