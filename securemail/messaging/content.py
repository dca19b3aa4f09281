"""Sealing and opening message content with the message's own data key."""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date

from securemail.core import crypto
from securemail.core.blobs import blob_store
from securemail.core.stream import decrypt_stream
from securemail.messaging.models import Attachment, Message


@dataclass(frozen=True)
class Content:
    subject: str
    body: str


class ContentUnavailable(Exception):
    """The content failed its integrity check or its key is gone: never show anything."""


def expiry_day(message: Message) -> date:
    """The day whose shredding key protects the message: the UTC day it expires."""
    return message.expires_at.astimezone(UTC).date()


def seal_content(message: Message, *, subject: str, body: str) -> None:
    """Encrypt subject and body under a new data key, wrapped under the keyring and the
    message's expiry day (so the key dies with that day; see securemail.core.shred)."""
    data_key = crypto.new_data_key()
    message.wrapped_key = crypto.wrap_data_key(
        data_key, context=message.key_context(), expires_on=expiry_day(message)
    )
    message.key_version = crypto.wrapped_key_version(message.wrapped_key)
    message.subject_sealed = crypto.seal(
        data_key, subject, context=message.sealed_context("subject")
    )
    message.body_sealed = crypto.seal(data_key, body, context=message.sealed_context("body"))


def _data_key(message: Message) -> bytes:
    try:
        return crypto.unwrap_data_key(bytes(message.wrapped_key), context=message.key_context())
    except crypto.DecryptionError as error:
        raise ContentUnavailable(str(message.pk)) from error


def open_subject(message: Message) -> str:
    try:
        return crypto.open_sealed(
            _data_key(message),
            bytes(message.subject_sealed),
            context=message.sealed_context("subject"),
        )
    except crypto.DecryptionError as error:
        raise ContentUnavailable(str(message.pk)) from error


def open_subject_of(
    *, message_id: uuid.UUID, sender_id: int, wrapped_key: bytes, subject_sealed: bytes
) -> str:
    """open_subject for a message known by its columns only (a mailbox line)."""
    try:
        data_key = crypto.unwrap_data_key(
            wrapped_key, context=Message.key_context_of(message_id, sender_id)
        )
        return crypto.open_sealed(
            data_key, subject_sealed, context=Message.subject_context_of(message_id)
        )
    except crypto.DecryptionError as error:
        raise ContentUnavailable(str(message_id)) from error


def open_content(message: Message) -> Content:
    data_key = _data_key(message)
    try:
        return Content(
            subject=crypto.open_sealed(
                data_key, bytes(message.subject_sealed), context=message.sealed_context("subject")
            ),
            body=crypto.open_sealed(
                data_key, bytes(message.body_sealed), context=message.sealed_context("body")
            ),
        )
    except crypto.DecryptionError as error:
        raise ContentUnavailable(str(message.pk)) from error


def seal_name(attachment: Attachment, data_key: bytes, name: str) -> bytes:
    return crypto.seal(data_key, name, context=attachment.sealed_context("name"))


@dataclass(frozen=True)
class OpenedAttachment:
    attachment: Attachment
    name: str
    data_key: bytes


def open_attachment(attachment: Attachment) -> OpenedAttachment:
    try:
        data_key = crypto.unwrap_data_key(
            bytes(attachment.wrapped_key), context=attachment.key_context()
        )
        name = crypto.open_sealed(
            data_key, bytes(attachment.name_sealed), context=attachment.sealed_context("name")
        )
    except crypto.DecryptionError as error:
        raise ContentUnavailable(str(attachment.pk)) from error
    return OpenedAttachment(attachment=attachment, name=name, data_key=data_key)


def attachment_chunks(opened: OpenedAttachment) -> Iterator[bytes]:
    """The plaintext, piece by piece (bounded memory). Raises ContentUnavailable on the
    first piece that fails its check."""
    with blob_store().open_read(opened.attachment.blob_name) as source:
        try:
            yield from decrypt_stream(
                source,
                opened.data_key,
                context=Attachment.blob_context(opened.attachment.blob_name),
            )
        except crypto.DecryptionError as error:
            raise ContentUnavailable(str(opened.attachment.pk)) from error
