"""Mailbox pages: thin views over securemail.messaging.access and .services."""

import logging
import uuid
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from securemail.accounts.models import User
from securemail.messaging import access, services
from securemail.messaging.content import Content, ContentUnavailable, open_content, open_subject
from securemail.messaging.forms import ComposeForm, LookupForm, ReplyForm
from securemail.messaging.models import Message
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


def _thread_items(thread: list[Message]) -> list[ThreadItem]:
    """Open every message of a thread; raises ContentUnavailable if any fails its check."""
    return [ThreadItem(message=m, content=open_content(m)) for m in thread]


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


@login_required
@require_http_methods(["GET", "POST"])
def compose(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not services.can_compose(user):
        return render(request, "forbidden.html", {"reason": "free"}, status=403)
    if request.method == "POST":
        form = ComposeForm(request.POST, sender=user)
        if form.is_valid():
            data = form.cleaned_data
            role = RecipientRole(data["role"]) if data["role"] else None
            try:
                message = services.send_message(
                    sender=user,
                    recipients=[services.RecipientSpec(email=data["to"], role=role)],
                    subject=data["subject"],
                    body=data["body"],
                    client_token=data["client_token"],
                )
            except services.MessagingError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, "Your secure message was sent.")
                return redirect("messaging:message", message_id=message.pk)
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


@login_required
@require_POST
def reply(request: HttpRequest, message_id: str) -> HttpResponse:
    user = _user(request)
    parent = access.access_message(user, message_id)
    form = ReplyForm(request.POST)
    if form.is_valid():
        try:
            services.reply(
                sender=user,
                parent=parent,
                body=form.cleaned_data["body"],
                client_token=form.cleaned_data["client_token"],
            )
        except services.MessagingError as error:
            form.add_error("body", str(error))
        else:
            messages.success(request, "Your reply was sent.")
            return redirect("messaging:message", message_id=parent.pk)
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
