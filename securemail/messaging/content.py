"""Sealing and opening message content with the message's own data key."""

from dataclasses import dataclass

from securemail.core import crypto
from securemail.messaging.models import Message


@dataclass(frozen=True)
class Content:
    subject: str
    body: str


class ContentUnavailable(Exception):
    """The content failed its integrity check or its key is gone: never show anything."""


def seal_content(message: Message, *, subject: str, body: str) -> None:
    data_key = crypto.new_data_key()
    message.wrapped_key = crypto.wrap_data_key(data_key, context=f"message:{message.pk}")
    message.subject_sealed = crypto.seal(data_key, subject, context=f"message:{message.pk}:subject")
    message.body_sealed = crypto.seal(data_key, body, context=f"message:{message.pk}:body")


def _data_key(message: Message) -> bytes:
    try:
        return crypto.unwrap_data_key(bytes(message.wrapped_key), context=f"message:{message.pk}")
    except crypto.DecryptionError as error:
        raise ContentUnavailable(str(message.pk)) from error


def open_subject(message: Message) -> str:
    try:
        return crypto.open_sealed(
            _data_key(message),
            bytes(message.subject_sealed),
            context=f"message:{message.pk}:subject",
        )
    except crypto.DecryptionError as error:
        raise ContentUnavailable(str(message.pk)) from error


def open_content(message: Message) -> Content:
    data_key = _data_key(message)
    try:
        return Content(
            subject=crypto.open_sealed(
                data_key, bytes(message.subject_sealed), context=f"message:{message.pk}:subject"
            ),
            body=crypto.open_sealed(
                data_key, bytes(message.body_sealed), context=f"message:{message.pk}:body"
            ),
        )
    except crypto.DecryptionError as error:
        raise ContentUnavailable(str(message.pk)) from error
