"""What the mailbox views share: the current user, thread opening, upload plumbing."""

import logging
import uuid
from dataclasses import dataclass
from functools import lru_cache

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from securemail.accounts.models import User
from securemail.core.limits import limits
from securemail.messaging.access import SlipRow, attachments_of
from securemail.messaging.content import (
    Content,
    ContentUnavailable,
    OpenedAttachment,
    open_attachment,
    open_content,
    open_subject,
)
from securemail.messaging.models import Message
from securemail.messaging.uploads import EncryptedUpload, EncryptingUploadHandler

logger = logging.getLogger("securemail.messaging")
PAGE_SIZE = 50


def current_user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@dataclass
class ThreadItem:
    message: Message
    content: Content
    attachments: list[OpenedAttachment]
    # For messages the viewer sent: what each recipient did with it.
    slip: list[SlipRow] | None = None


def thread_items(thread: list[Message]) -> list[ThreadItem]:
    """Open every message of a thread; raises ContentUnavailable if any fails its check."""
    return [
        ThreadItem(
            message=m,
            content=open_content(m),
            attachments=[open_attachment(a) for a in attachments_of(m)],
        )
        for m in thread
    ]


def unavailable(request: HttpRequest, what: object) -> HttpResponse:
    """The "this message can't be shown" page, and the integrity failure logged (ids only:
    `what` is a model instance whose str() never holds content)."""
    logger.error("messaging: content of %s failed its integrity check", what)
    return render(request, "messaging/unavailable.html", status=500)


_ANY_ID = uuid.UUID(int=0)
_ANY_FILE = uuid.UUID(int=1)


@lru_cache(maxsize=1)
def _url_formats() -> tuple[str, str]:
    """The message and attachment URLs as format strings, resolved once: a page that links
    50 messages shouldn't reverse() the pattern 50 times."""
    message = reverse("messaging:message", kwargs={"message_id": _ANY_ID})
    attachment = reverse(
        "messaging:attachment", kwargs={"message_id": _ANY_ID, "attachment_id": _ANY_FILE}
    )
    return (
        message.replace(str(_ANY_ID), "{m}"),
        attachment.replace(str(_ANY_ID), "{m}").replace(str(_ANY_FILE), "{a}"),
    )


def message_url(message_id: uuid.UUID) -> str:
    """reverse("messaging:message", kwargs={"message_id": message_id})."""
    return _url_formats()[0].format(m=message_id)


def attachment_url(message_id: uuid.UUID, attachment_id: uuid.UUID) -> str:
    """reverse("messaging:attachment", ...) for this message and attachment."""
    return _url_formats()[1].format(m=message_id, a=attachment_id)


def subject_or_placeholder(message: Message) -> str:
    try:
        return open_subject(message)
    except ContentUnavailable:
        logger.error("messaging: content of %s failed its integrity check", message)
        return "(this message can't be shown)"


def encrypting_uploads(request: HttpRequest) -> EncryptingUploadHandler:
    """Install the encrypting upload handler. Must run before anything reads request.POST,
    which is why the views taking files do their CSRF check after it (csrf_protect)."""
    handler = EncryptingUploadHandler(request)
    request.upload_handlers = [handler]
    return handler


def uploads_or_error(handler: EncryptingUploadHandler, form: forms.Form) -> list[EncryptedUpload]:
    limit_mb = limits().max_attachment_mb
    for name in handler.rejected:
        form.add_error(None, f"“{name}” is larger than {limit_mb} MB, the limit for one file.")
    return handler.uploads


def discard(uploads: list[EncryptedUpload]) -> None:
    for upload in uploads:
        upload.discard()
