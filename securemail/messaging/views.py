"""Mailbox pages: thin views over securemail.messaging.access and .services."""

import itertools
import logging
import uuid
from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from securemail.accounts.models import User
from securemail.messaging import access, services
from securemail.messaging.content import (
    Content,
    ContentUnavailable,
    OpenedAttachment,
    attachment_chunks,
    open_attachment,
    open_content,
    open_subject,
)
from securemail.messaging.forms import ComposeForm, LookupForm, ReplyForm
from securemail.messaging.models import Message
from securemail.messaging.uploads import EncryptedUpload, EncryptingUploadHandler
from securemail.onboarding.models import RecipientRole

logger = logging.getLogger(__name__)
PAGE_SIZE = 50


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@dataclass
class ThreadItem:
    message: Message
    content: Content
    attachments: list[OpenedAttachment]


def _thread_items(thread: list[Message]) -> list[ThreadItem]:
    """Open every message of a thread; raises ContentUnavailable if any fails its check."""
    return [
        ThreadItem(
            message=m,
            content=open_content(m),
            attachments=[open_attachment(a) for a in m.attachments.all()],
        )
        for m in thread
    ]


def _subject_or_placeholder(message: Message) -> str:
    try:
        return open_subject(message)
    except ContentUnavailable:
        logger.error("messaging: content of %s failed its integrity check", message)
        return "(this message can't be shown)"


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    page = Paginator(access.inbox(user), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {"delivery": d, "message": d.message, "subject": _subject_or_placeholder(d.message)}
        for d in page
    ]
    return render(request, "messaging/inbox.html", {"page": page, "rows": rows, "folder": "inbox"})


@login_required
@require_GET
def sent(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    page = Paginator(access.sent(user), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [{"message": m, "subject": _subject_or_placeholder(m)} for m in page]
    return render(request, "messaging/sent.html", {"page": page, "rows": rows, "folder": "sent"})


def _encrypting_uploads(request: HttpRequest) -> EncryptingUploadHandler:
    """Install the encrypting upload handler. Must run before anything reads request.POST,
    which is why the views taking files do their CSRF check after it (csrf_protect)."""
    handler = EncryptingUploadHandler(request)
    request.upload_handlers = [handler]
    return handler


def _uploads_or_error(handler: EncryptingUploadHandler, form: forms.Form) -> list[EncryptedUpload]:
    limit_mb = settings.SECUREMAIL_MAX_ATTACHMENT_BYTES // (1024 * 1024)
    for name in handler.rejected:
        form.add_error(None, f"“{name}” is larger than {limit_mb} MB, the limit for one file.")
    return handler.uploads


def _discard(uploads: list[EncryptedUpload]) -> None:
    for upload in uploads:
        upload.discard()


@csrf_exempt
@login_required
@require_http_methods(["GET", "POST"])
def compose(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not services.can_compose(user):
        # Refused before the body is read: a free account's upload is never stored.
        return render(request, "forbidden.html", {"reason": "free"}, status=403)
    handler = _encrypting_uploads(request) if request.method == "POST" else None
    return _compose(request, user, handler)


@csrf_protect
def _compose(
    request: HttpRequest, user: User, handler: EncryptingUploadHandler | None
) -> HttpResponse:
    if request.method == "POST" and handler is not None:
        form = ComposeForm(request.POST, sender=user)
        valid = form.is_valid()
        uploads = _uploads_or_error(handler, form)
        if valid and not handler.rejected:
            data = form.cleaned_data
            role = RecipientRole(data["role"]) if data["role"] else None
            try:
                message = services.send_message(
                    sender=user,
                    recipients=[services.RecipientSpec(email=data["to"], role=role)],
                    subject=data["subject"],
                    body=data["body"],
                    client_token=data["client_token"],
                    attachments=uploads,
                )
            except services.MessagingError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, "Your secure message was sent.")
                return redirect("messaging:message", message_id=message.pk)
        _discard(uploads)
        return render(request, "messaging/compose.html", {"form": form}, status=400)
    form = ComposeForm(initial={"client_token": uuid.uuid4()}, sender=user)
    return render(request, "messaging/compose.html", {"form": form})


@login_required
@require_POST
def lookup(request: HttpRequest) -> HttpResponse:
    """htmx: after To loses focus, show the role select if the address is new."""
    user = _user(request)
    form = LookupForm(request.POST)
    context: dict[str, object] = {"show_role": False, "error": ""}
    status = 200
    if not form.is_valid():
        if request.POST.get("to", "").strip():
            context["error"] = "Enter a valid email address, like name@example.com."
        return render(request, "messaging/_role.html", context)
    try:
        known = services.lookup_address(sender=user, email=form.cleaned_data["to"])
    except services.NotAllowed:
        return render(request, "forbidden.html", {"reason": "free"}, status=403)
    except services.MessagingError as error:
        context["error"] = str(error)
        status = 429
    else:
        context["show_role"] = not known
        context["known"] = known
    context["form"] = ComposeForm(sender=user)
    return render(request, "messaging/_role.html", context, status=status)


@login_required
@require_GET
def message_detail(request: HttpRequest, message_id: str) -> HttpResponse:
    user = _user(request)
    message = access.access_message(user, message_id)
    thread = access.thread_messages(user, message)
    try:
        items = _thread_items(thread)
    except ContentUnavailable:
        logger.error("messaging: content of thread %s failed its integrity check", message)
        return render(request, "messaging/unavailable.html", status=500)
    services.mark_read(reader=user, messages=thread)
    form = ReplyForm(initial={"client_token": uuid.uuid4()})
    return render(
        request,
        "messaging/thread.html",
        {"message": message, "items": items, "subject": items[0].content.subject, "form": form},
    )


@csrf_exempt
@login_required
@require_POST
def reply(request: HttpRequest, message_id: str) -> HttpResponse:
    user = _user(request)
    parent = access.access_message(user, message_id)
    handler = _encrypting_uploads(request)
    return _reply(request, user, parent, handler)


@csrf_protect
def _reply(
    request: HttpRequest, user: User, parent: Message, handler: EncryptingUploadHandler
) -> HttpResponse:
    form = ReplyForm(request.POST)
    valid = form.is_valid()
    uploads = _uploads_or_error(handler, form)
    if valid and not handler.rejected:
        try:
            services.reply(
                sender=user,
                parent=parent,
                body=form.cleaned_data["body"],
                client_token=form.cleaned_data["client_token"],
                attachments=uploads,
            )
        except services.MessagingError as error:
            form.add_error("body", str(error))
        except ContentUnavailable:
            # The parent's subject (quoted as "Re: …") failed its check: show nothing.
            _discard(uploads)
            logger.error("messaging: content of %s failed its integrity check", parent)
            return render(request, "messaging/unavailable.html", status=500)
        else:
            messages.success(request, "Your reply was sent.")
            return redirect("messaging:message", message_id=parent.pk)
    _discard(uploads)
    try:
        items = _thread_items(access.thread_messages(user, parent))
    except ContentUnavailable:
        return render(request, "messaging/unavailable.html", status=500)
    return render(
        request,
        "messaging/thread.html",
        {"message": parent, "items": items, "subject": items[0].content.subject, "form": form},
        status=400,
    )


@login_required
@require_GET
def attachment_download(
    request: HttpRequest, message_id: str, attachment_id: str
) -> HttpResponse | StreamingHttpResponse:
    """Stream an attachment, decrypting piece by piece; always a download, never inline."""
    user = _user(request)
    message = access.access_message(user, message_id)
    attachment = access.access_attachment(message, attachment_id)
    try:
        opened = open_attachment(attachment)
        chunks = attachment_chunks(opened)
        # Check the first piece before answering, so a damaged file gets a clear page.
        first = next(chunks)
    except ContentUnavailable:
        logger.error("messaging: %s failed its integrity check", attachment)
        return render(request, "messaging/unavailable.html", status=500)
    services.record_download(reader=user, attachment=attachment)
    response = StreamingHttpResponse(
        itertools.chain([first], chunks), content_type=attachment.content_type
    )
    response["Content-Length"] = str(attachment.size)
    response["Content-Disposition"] = content_disposition_header(True, opened.name)
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["X-Content-Type-Options"] = "nosniff"
    return response
