"""Folders, the conversation page, print view, delivery slip and mailbox actions."""

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from securemail.messaging import access, services
from securemail.messaging.content import ContentUnavailable
from securemail.messaging.forms import ExpiryForm, ReplyForm
from securemail.messaging.models import Message
from securemail.messaging.paging import keyset_page
from securemail.messaging.services.drafts import open_draft
from securemail.messaging.views.common import (
    PAGE_SIZE,
    current_user,
    logger,
    subject_or_placeholder,
    thread_items,
)

FOLDER_TITLES = {"inbox": "Inbox", "archive": "Archive", "sent": "Sent", "drafts": "Drafts"}


def _received(request: HttpRequest, folder: str) -> HttpResponse:
    user = current_user(request)
    queryset = access.inbox(user) if folder == "inbox" else access.archive(user)
    page = keyset_page(
        queryset, before=request.GET.get("before"), after=request.GET.get("after"), size=PAGE_SIZE
    )
    rows = [
        {"delivery": d, "message": d.message, "subject": subject_or_placeholder(d.message)}
        for d in page.items
    ]
    context = {"page": page, "rows": rows, "folder": folder, "title": FOLDER_TITLES[folder]}
    return render(request, "messaging/mailbox.html", context)


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    return _received(request, "inbox")


@login_required
@require_GET
def archive(request: HttpRequest) -> HttpResponse:
    return _received(request, "archive")


@login_required
@require_GET
def sent(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    page = keyset_page(
        access.sent(user),
        before=request.GET.get("before"),
        after=request.GET.get("after"),
        size=PAGE_SIZE,
    )
    rows = [{"message": m, "subject": subject_or_placeholder(m)} for m in page.items]
    context = {"page": page, "rows": rows, "folder": "sent", "title": "Sent"}
    return render(request, "messaging/mailbox.html", context)


@login_required
@require_GET
def drafts(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    rows = []
    for draft in access.drafts(user):
        try:
            fields = open_draft(draft)
        except Exception:
            logger.error("messaging: %s can't be opened", draft)
            fields = {"subject": "(this draft can't be shown)", "to": ""}
        rows.append({"draft": draft, "fields": fields})
    return render(
        request, "messaging/drafts.html", {"rows": rows, "folder": "drafts", "title": "Drafts"}
    )


def _thread_context(request: HttpRequest, message: Message) -> dict[str, Any]:
    user = current_user(request)
    thread = access.thread_messages(user, message)
    items = thread_items(thread)
    slips = access.delivery_slips(user, thread)
    for item in items:
        item.slip = slips.get(item.message.pk)
    own = access.own_delivery(user, message)
    return {
        "message": message,
        "items": items,
        "subject": items[0].content.subject,
        "delivery": own,
        "is_sender": message.sender_id == user.pk,
        "can_forward": services.can_compose(user),
        "expiry_form": ExpiryForm(user=user, sent_at=message.sent_at, expires_at=message.expires_at)
        if message.sender_id == user.pk
        else None,
    }


@login_required
@require_GET
def message_detail(request: HttpRequest, message_id: str) -> HttpResponse:
    user = current_user(request)
    message = access.access_message(user, message_id)
    try:
        context = _thread_context(request, message)
    except ContentUnavailable:
        logger.error("messaging: content of thread %s failed its integrity check", message)
        return render(request, "messaging/unavailable.html", status=500)
    services.mark_read(reader=user, messages=[item.message for item in context["items"]])
    context["form"] = ReplyForm(initial={"client_token": uuid.uuid4()})
    return render(request, "messaging/thread.html", context)


def render_thread_with_errors(
    request: HttpRequest, message: Message, *, form: Any = None, expiry_form: Any = None
) -> HttpResponse:
    try:
        context = _thread_context(request, message)
    except ContentUnavailable:
        return render(request, "messaging/unavailable.html", status=500)
    context["form"] = form or ReplyForm(initial={"client_token": uuid.uuid4()})
    if expiry_form is not None:
        context["expiry_form"] = expiry_form
    return render(request, "messaging/thread.html", context, status=400)


@login_required
@require_GET
def print_view(request: HttpRequest, message_id: str) -> HttpResponse:
    """The conversation on a clean page, for paper or PDF records."""
    user = current_user(request)
    message = access.access_message(user, message_id)
    try:
        items = thread_items(access.thread_messages(user, message))
    except ContentUnavailable:
        return render(request, "messaging/unavailable.html", status=500)
    services.mark_read(reader=user, messages=[item.message for item in items])
    return render(
        request,
        "messaging/print.html",
        {"items": items, "subject": items[0].content.subject, "message": message},
    )


@login_required
@require_POST
def set_archived(request: HttpRequest, message_id: str) -> HttpResponse:
    user = current_user(request)
    message = access.access_message(user, message_id)
    archived = request.POST.get("archived") == "1"
    try:
        services.set_archived(user=user, message=message, archived=archived)
    except services.NotAllowed:
        return render(request, "forbidden.html", status=403)
    messages.success(request, "Moved to Archive." if archived else "Moved to Inbox.")
    return redirect("messaging:archive" if not archived else "messaging:inbox")


@login_required
@require_POST
def hide(request: HttpRequest, message_id: str) -> HttpResponse:
    user = current_user(request)
    message = access.access_message(user, message_id)
    try:
        services.hide_for_me(user=user, message=message)
    except services.NotAllowed:
        return render(request, "forbidden.html", status=403)
    messages.success(request, "Deleted from your mailbox. The other people keep their copy.")
    return redirect("messaging:inbox")


@login_required
@require_POST
def delete(request: HttpRequest, message_id: str) -> HttpResponse:
    user = current_user(request)
    message = access.access_message(user, message_id)
    try:
        services.delete_for_everyone(actor=user, message=message)
    except services.NotAllowed:
        return render(request, "forbidden.html", status=403)
    messages.success(request, "Deleted for everyone.")
    return redirect("messaging:sent")


@login_required
@require_POST
def change_expiry(request: HttpRequest, message_id: str) -> HttpResponse:
    user = current_user(request)
    message = access.access_message(user, message_id)
    if message.sender_id != user.pk:
        return render(request, "forbidden.html", status=403)
    form = ExpiryForm(request.POST, user=user, sent_at=message.sent_at)
    if form.is_valid():
        try:
            services.change_expiry(
                actor=user, message=message, expires_at=form.cleaned_data["expires_on"]
            )
        except services.MessagingError as error:
            form.add_error("expires_on", str(error))
        else:
            messages.success(request, "The deletion date was changed.")
            return redirect("messaging:message", message_id=message.pk)
    return render_thread_with_errors(request, message, expiry_form=form)
