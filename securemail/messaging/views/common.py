"""What the mailbox views share: the current user, thread opening, upload plumbing."""

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from django import forms
from django.core.exceptions import TooManyFilesSent
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from securemail.accounts.models import User
from securemail.messaging import services
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
from securemail.messaging.quota import storage_use
from securemail.messaging.uploads import (
    EncryptedUpload,
    EncryptingUploadHandler,
    too_many_files_text,
)

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
def _attachment_format() -> str:
    """The attachment URL as a format string, resolved once: a page that links 50 messages
    shouldn't reverse() the pattern 50 times (message_route does the same for a message)."""
    attachment = reverse(
        "messaging:attachment", kwargs={"message_id": _ANY_ID, "attachment_id": _ANY_FILE}
    )
    return attachment.replace(str(_ANY_ID), "{m}").replace(str(_ANY_FILE), "{a}")


def message_url(message_id: uuid.UUID) -> str:
    """reverse("messaging:message", kwargs={"message_id": message_id})."""
    return message_route("messaging:message", message_id)


def attachment_url(message_id: uuid.UUID, attachment_id: uuid.UUID) -> str:
    """reverse("messaging:attachment", ...) for this message and attachment."""
    return _attachment_format().format(m=message_id, a=attachment_id)


@lru_cache(maxsize=32)
def _message_route(name: str) -> str:
    return reverse(name, kwargs={"message_id": _ANY_ID}).replace(str(_ANY_ID), "{m}")


def message_route(name: str, message_id: uuid.UUID) -> str:
    """reverse(name, kwargs={"message_id": message_id}) for a route of one message (its
    print, reply, archive... addresses), the pattern reversed once: the conversation page
    links eight of them."""
    return _message_route(name).format(m=message_id)


# The conversation page's links, by the name its template uses.
THREAD_LINKS = ("print", "export_pdf", "forward", "archive_toggle", "hide", "reply")
TOOLS_LINKS = ("expiry", "delete")


def message_links(message_id: uuid.UUID, names: tuple[str, ...]) -> dict[str, str]:
    return {name: message_route(f"messaging:{name}", message_id) for name in names}


UNAVAILABLE_SUBJECT = "(this message can't be shown)"


def subject_or_placeholder(message: Message) -> str:
    try:
        return open_subject(message)
    except ContentUnavailable:
        logger.error("messaging: content of %s failed its integrity check", message)
        return UNAVAILABLE_SUBJECT


def receiving_files(
    request: HttpRequest,
    view: Callable[[EncryptingUploadHandler], HttpResponse],
    *,
    back_url: str,
) -> HttpResponse:
    """Answer a post that carries files: `view` runs with the encrypting upload handler
    installed, which must happen before anything reads request.POST (hence the views taking
    files check CSRF inside, with csrf_protect, once their login, plan and access checks
    have passed). However the request ends (sent, refused by the form, CSRF, a limit or
    Django's parser, or an error), the blobs it wrote that no attachment references are
    deleted before the answer goes out. More files than Django parses at all
    (DATA_UPLOAD_MAX_NUMBER_FILES) is a 400 page saying how many one message takes. The
    files must fit in the sender's storage quota (asked only if the post carries files)."""
    user = current_user(request)
    handler = EncryptingUploadHandler(request, storage=lambda: storage_use(user))
    request.upload_handlers = [handler]
    try:
        return view(handler)
    except TooManyFilesSent:
        context = {"too_many": too_many_files_text(), "back_url": back_url}
        return render(request, "messaging/too_many_files.html", context, status=400)
    finally:
        services.delete_unused_uploads(handler.close())


def uploads_or_error(handler: EncryptingUploadHandler, form: forms.Form) -> list[EncryptedUpload]:
    """The request's uploads, and why they can't be sent as form errors (if they can't)."""
    for text in handler.refusals():
        form.add_error(None, text)
    return handler.uploads
