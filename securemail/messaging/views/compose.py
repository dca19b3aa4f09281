"""Writing: compose (with the recipient-role lookup and drafts), reply and forward.

Views that take files install the encrypting upload handler before the body is parsed,
so they are csrf_exempt on the outside and csrf_protect on the inside.
"""

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from securemail.accounts.access import practice_manager
from securemail.accounts.models import User
from securemail.messaging import access, services
from securemail.messaging.content import ContentUnavailable
from securemail.messaging.forms import (
    MAX_RECIPIENTS,
    ROLE_PREFIX,
    ComposeForm,
    ForwardForm,
    LookupForm,
    ReplyForm,
    parse_addresses,
)
from securemail.messaging.models import Delivery, Message
from securemail.messaging.services.drafts import DRAFT_FIELDS, open_draft
from securemail.messaging.uploads import EncryptingUploadHandler
from securemail.messaging.views.common import (
    current_user,
    discard,
    encrypting_uploads,
    unavailable,
    uploads_or_error,
)
from securemail.messaging.views.mailbox import render_thread_with_errors
from securemail.onboarding.models import RecipientRole


def _forbidden_free(request: HttpRequest) -> HttpResponse:
    """Why a free account can't do this, and who can change that."""
    context = {"reason": "free", "manager": practice_manager(current_user(request))}
    return render(request, "forbidden.html", context, status=403)


def _specs(cleaned: dict[str, Any]) -> list[services.RecipientSpec]:
    roles = cleaned.get("roles", {})

    def spec(email: str, kind: str) -> services.RecipientSpec:
        role = RecipientRole(roles[email]) if email in roles else None
        return services.RecipientSpec(email=email, role=role, kind=kind)

    return [spec(a, Delivery.Kind.TO) for a in cleaned["to"]] + [
        spec(a, Delivery.Kind.CC) for a in cleaned.get("cc", [])
    ]


def _role_rows(form: Any) -> list[dict[str, str]]:
    """One "Select recipient's role" per new address, keeping what was chosen."""
    chosen = form.recipient_roles() if form.is_bound else {}
    return [
        {"email": email, "name": f"{ROLE_PREFIX}{email}", "value": chosen.get(email, "")}
        for email in getattr(form, "new_addresses", [])
    ]


def _compose_page(request: HttpRequest, form: ComposeForm, status: int = 200) -> HttpResponse:
    context = {
        "form": form,
        "role_rows": _role_rows(form),
        "role_choices": list(RecipientRole.choices),
    }
    return render(request, "messaging/compose.html", context, status=status)


@csrf_exempt
@login_required
@require_http_methods(["GET", "POST"])
def compose(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    if not services.can_compose(user):
        # Refused before the body is read: a free account's upload is never stored.
        return _forbidden_free(request)
    handler = encrypting_uploads(request) if request.method == "POST" else None
    return _compose(request, user, handler)


@csrf_protect
def _compose(
    request: HttpRequest, user: User, handler: EncryptingUploadHandler | None
) -> HttpResponse:
    if request.method != "POST" or handler is None:
        initial: dict[str, Any] = {"client_token": uuid.uuid4()}
        draft = access.access_draft(user, request.GET.get("draft"))
        if draft is not None:
            try:
                initial |= {k: v for k, v in open_draft(draft).items() if k in DRAFT_FIELDS}
            except Exception:
                draft = None
            initial["draft"] = draft.pk if draft else None
        to = request.GET.get("to", "")
        if to:
            initial["to"] = to
        return _compose_page(request, ComposeForm(initial=initial, sender=user))
    form = ComposeForm(request.POST, sender=user)
    valid = form.is_valid()
    uploads = uploads_or_error(handler, form)
    if valid and not handler.rejected:
        data = form.cleaned_data
        try:
            message = services.send_message(
                sender=user,
                recipients=_specs(data),
                subject=data["subject"],
                body=data["body"],
                client_token=data["client_token"],
                attachments=uploads,
                expiry_days=data["expiry_days"],
            )
        except services.MessagingError as error:
            form.add_error(None, str(error))
        else:
            services.delete_draft(owner=user, draft_id=data.get("draft"))
            messages.success(request, "Your secure message was sent.")
            return redirect("messaging:message", message_id=message.pk)
    discard(uploads)
    return _compose_page(request, form, status=429 if form.rate_limited else 400)


@login_required
@require_POST
def lookup(request: HttpRequest) -> HttpResponse:
    """htmx: after To or Cc loses focus, one role select per address new to SecureMail."""
    user = current_user(request)
    # Errors answer 400 (fix the addresses) or 429 (wait): base.html's htmx-config swaps
    # both into the page, as it does not for other 4xx answers.
    form = LookupForm(request.POST)
    too_many = f"Send to at most {MAX_RECIPIENTS} people at once."
    if not form.is_valid():
        return render(request, "messaging/_roles.html", {"error": too_many}, status=400)
    to, bad_to = parse_addresses(form.cleaned_data["to"])
    cc, bad_cc = parse_addresses(form.cleaned_data["cc"])
    everyone = to + [a for a in cc if a not in to]
    context: dict[str, Any] = {"role_choices": list(RecipientRole.choices), "role_rows": []}
    if len(everyone) > MAX_RECIPIENTS:
        context["error"] = too_many
        return render(request, "messaging/_roles.html", context, status=400)
    if bad_to or bad_cc:
        context["error"] = "Not a valid email address: " + ", ".join((bad_to + bad_cc)[:3]) + "."
    if not everyone:
        return render(request, "messaging/_roles.html", context)
    try:
        known = services.lookup_addresses(sender=user, emails=everyone)
    except services.NotAllowed:
        return _forbidden_free(request)
    except services.MessagingError as error:
        # The only one left: the look-up limit.
        context["error"] = str(error)
        return render(request, "messaging/_roles.html", context, status=429)
    chosen = {
        k[len(ROLE_PREFIX) :]: v for k, v in request.POST.items() if k.startswith(ROLE_PREFIX)
    }
    context["role_rows"] = [
        {"email": email, "name": f"{ROLE_PREFIX}{email}", "value": chosen.get(email, "")}
        for email in everyone
        if email not in known and email != user.email
    ]
    context["known_count"] = len([a for a in everyone if a in known])
    # Said now, not only on Send: mail to these addresses can't arrive.
    context["bounced"] = access.bounced_among(everyone)
    return render(request, "messaging/_roles.html", context)


@login_required
@require_POST
def save_draft(request: HttpRequest) -> HttpResponse:
    """htmx: save the compose form as a draft while the author types."""
    user = current_user(request)
    if not services.can_compose(user):
        return _forbidden_free(request)
    fields = {k: request.POST.get(k, "")[:100_000] for k in DRAFT_FIELDS}
    if not any(fields[k].strip() for k in ("to", "cc", "subject", "body")):
        return render(request, "messaging/_draft_status.html", {"draft": None})
    try:
        draft_id = uuid.UUID(request.POST.get("draft", ""))
    except ValueError:
        draft_id = None
    draft = services.save_draft(owner=user, draft_id=draft_id, fields=fields)
    return render(
        request, "messaging/_draft_status.html", {"draft": draft, "saved_at": timezone.now()}
    )


@login_required
@require_POST
def discard_draft(request: HttpRequest, draft_id: str) -> HttpResponse:
    user = current_user(request)
    draft = access.access_draft(user, draft_id)
    services.delete_draft(owner=user, draft_id=draft.pk if draft else None)
    messages.success(request, "Draft discarded.")
    return redirect("messaging:drafts")


@csrf_exempt
@login_required
@require_POST
def reply(request: HttpRequest, message_id: str) -> HttpResponse:
    user = current_user(request)
    parent = access.access_message(user, message_id)
    handler = encrypting_uploads(request)
    return _reply(request, user, parent, handler)


@csrf_protect
def _reply(
    request: HttpRequest, user: User, parent: Message, handler: EncryptingUploadHandler
) -> HttpResponse:
    form = ReplyForm(request.POST)
    valid = form.is_valid()
    uploads = uploads_or_error(handler, form)
    if valid and not handler.rejected:
        try:
            services.reply(
                sender=user,
                parent=parent,
                body=form.cleaned_data["body"],
                client_token=form.cleaned_data["client_token"],
                attachments=uploads,
                reply_all=form.cleaned_data["reply_all"],
            )
        except services.MessagingError as error:
            form.add_error("body", str(error))
        except services.NotAllowed:
            discard(uploads)
            return _forbidden_free(request)
        except ContentUnavailable:
            # The parent's subject (quoted as "Re: …") failed its check: show nothing.
            discard(uploads)
            return unavailable(request, parent)
        else:
            messages.success(request, "Your reply was sent.")
            return redirect("messaging:message", message_id=parent.pk)
    discard(uploads)
    return render_thread_with_errors(request, parent, form=form)


@login_required
@require_http_methods(["GET", "POST"])
def forward(request: HttpRequest, message_id: str) -> HttpResponse:
    user = current_user(request)
    original = access.access_message(user, message_id)
    if not services.can_compose(user):
        return _forbidden_free(request)
    if request.method == "POST":
        form = ForwardForm(request.POST, sender=user)
        if form.is_valid():
            try:
                message = services.forward(
                    sender=user,
                    original=original,
                    recipients=_specs(form.cleaned_data),
                    note=form.cleaned_data["body"],
                    client_token=form.cleaned_data["client_token"],
                )
            except services.MessagingError as error:
                form.add_error(None, str(error))
            except ContentUnavailable:
                return unavailable(request, original)
            else:
                messages.success(request, "The message was forwarded.")
                return redirect("messaging:message", message_id=message.pk)
        status = 400
    else:
        form = ForwardForm(initial={"client_token": uuid.uuid4()}, sender=user)
        status = 200
    context = {
        "form": form,
        "original": original,
        "role_rows": _role_rows(form),
        "role_choices": list(RecipientRole.choices),
    }
    return render(request, "messaging/forward.html", context, status=status)
