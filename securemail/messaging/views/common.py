"""What the mailbox views share: the current user, thread opening, upload plumbing."""

import logging
from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.http import HttpRequest

from securemail.accounts.models import User
from securemail.messaging.access import SlipRow
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
            attachments=[open_attachment(a) for a in m.attachments.all()],
        )
        for m in thread
    ]


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
    limit_mb = settings.SECUREMAIL_MAX_ATTACHMENT_BYTES // (1024 * 1024)
    for name in handler.rejected:
        form.add_error(None, f"“{name}” is larger than {limit_mb} MB, the limit for one file.")
    return handler.uploads


def discard(uploads: list[EncryptedUpload]) -> None:
    for upload in uploads:
        upload.discard()
