"""Writing: compose (with the recipient-role lookup and drafts), reply and forward.

Views that take files install the encrypting upload handler before the body is parsed,
so they are csrf_exempt on the outside and csrf_protect on the inside; everything that needs
no body (login, plan, access) is checked before, and views.common.receiving_files deletes
what a refused request wrote.
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

from securemail.accounts.models import User
from securemail.billing import entitlements
from securemail.billing.entitlements import Feature, PlanRequired
from securemail.contacts import access as contacts
from securemail.core.crypto import DecryptionError
from securemail.core.limits import limits
from securemail.errors import forbidden
from securemail.messaging import access, services
from securemail.messaging.content import ContentUnavailable
from securemail.messaging.forms import (
    ROLE_PREFIX,
    ComposeForm,
    ForwardForm,
    LookupForm,
    RecipientsMixin,
    ReplyForm,
    parse_addresses,
)
from securemail.messaging.models import Delivery, Message
from securemail.messaging.services.drafts import DRAFT_FIELDS, open_draft
from securemail.messaging.uploads import EncryptingUploadHandler
from securemail.messaging.views.common import (
    current_user,
    logger,
    message_url,
    receiving_files,
    unavailable,
    uploads_or_error,
)
from securemail.messaging.views.mailbox import render_thread_with_errors
from securemail.onboarding.models import RecipientRole


def _forbidden_free(request: HttpRequest, feature: Feature) -> HttpResponse:
    """Why a free account can't do this, and who can change that (the 403 page)."""
    return forbidden(request, PlanRequired(feature))


def _check_roles(form: RecipientsMixin, sender: User) -> int:
    """Ask messaging which addresses are new and which still need a role (it charges the
    look-up when the answer reveals that); the error status for the page, 400 or 429."""
    if form.addresses is None:
        return 400
    try:
        check = services.check_roles(
            sender=sender,
            emails=form.addresses,
            roles=form.recipient_roles(),
            only_role=form.cleaned_data.get("role") or "",
        )
    except services.LookupLimited as error:
        form.add_error("to", str(error))
        return 429
    form.apply_roles(check)
    return 400


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
    if not entitlements.allows(user, Feature.START_CONVERSATION):
        # Refused before the body is read: a free account's upload is never stored.
        return _forbidden_free(request, Feature.START_CONVERSATION)
    if request.method != "POST":
        return _compose(request, user, None)
    return receiving_files(
        request, lambda handler: _compose(request, user, handler), back_url=request.path
    )


@csrf_protect
def _compose(
    request: HttpRequest, user: User, handler: EncryptingUploadHandler | None
) -> HttpResponse:
    if request.method != "POST" or handler is None:
        initial: dict[str, Any] = {"client_token": uuid.uuid4()}
        draft = access.access_draft(user, _uuid_or_none(request.GET.get("draft")))
        if draft is not None:
            try:
                initial |= {k: v for k, v in open_draft(draft).items() if k in DRAFT_FIELDS}
            except DecryptionError:
                logger.error("messaging: %s can't be opened", draft)
                draft = None
            initial["draft"] = draft.pk if draft else None
        to = request.GET.get("to", "")
        if to:
            initial["to"] = to
        return _compose_page(request, ComposeForm(initial=initial, sender=user))
    form = ComposeForm(request.POST, sender=user)
    form.is_valid()
    status = _check_roles(form, user)
    uploads = uploads_or_error(handler, form)
    if not form.errors and not handler.refused:
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
    return _compose_page(request, form, status=status)


@login_required
@require_POST
def lookup(request: HttpRequest) -> HttpResponse:
    """htmx: after To or Cc loses focus, one role select per address new to SecureMail."""
    user = current_user(request)
    # Errors answer 400 (fix the addresses) or 429 (wait): base.html's htmx-config swaps
    # both into the page, as it does not for other 4xx answers.
    form = LookupForm(request.POST)
    too_many = f"Send to at most {limits().max_recipients} people at once."
    if not form.is_valid():
        return render(request, "messaging/_roles.html", {"error": too_many}, status=400)
    to, bad_to = parse_addresses(form.cleaned_data["to"])
    cc, bad_cc = parse_addresses(form.cleaned_data["cc"])
    everyone = to + [a for a in cc if a not in to]
    context: dict[str, Any] = {"role_choices": list(RecipientRole.choices), "role_rows": []}
    if len(everyone) > limits().max_recipients:
        context["error"] = too_many
        return render(request, "messaging/_roles.html", context, status=400)
    if bad_to or bad_cc:
        context["error"] = "Not a valid email address: " + ", ".join((bad_to + bad_cc)[:3]) + "."
    if not everyone:
        return render(request, "messaging/_roles.html", context)
    try:
        known = services.lookup_addresses(sender=user, emails=everyone)
    except services.LookupLimited as error:
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
    # The sender's own contacts among the addresses: their name and practice beside them.
    cards = contacts.known_among(user, everyone)
    context["known_contacts"] = [
        {"email": email, "name": card.name, "practice": card.practice}
        for email in everyone
        if (card := cards.get(email)) and card.readable and (card.name or card.practice)
    ]
    # Said now, not only on Send: mail to these addresses can't arrive.
    context["bounced"] = access.bounced_among(everyone)
    return render(request, "messaging/_roles.html", context)


@login_required
@require_POST
def save_draft(request: HttpRequest) -> HttpResponse:
    """htmx: save the compose form as a draft while the author types."""
    user = current_user(request)
    fields = {k: request.POST.get(k, "")[:100_000] for k in DRAFT_FIELDS}
    if not any(fields[k].strip() for k in ("to", "cc", "subject", "body")):
        return render(request, "messaging/_draft_status.html", {"draft": None})
    draft_id = _uuid_or_none(request.POST.get("draft"))
    draft = services.save_draft(owner=user, draft_id=draft_id, fields=fields)
    return render(
        request, "messaging/_draft_status.html", {"draft": draft, "saved_at": timezone.now()}
    )


@login_required
@require_POST
def discard_draft(request: HttpRequest, draft_id: uuid.UUID) -> HttpResponse:
    user = current_user(request)
    draft = access.access_draft(user, draft_id)
    services.delete_draft(owner=user, draft_id=draft.pk if draft else None)
    messages.success(request, "Draft discarded.")
    return redirect("messaging:drafts")


@csrf_exempt
@login_required
@require_POST
def reply(request: HttpRequest, message_id: uuid.UUID) -> HttpResponse:
    user = current_user(request)
    parent = access.access_message(user, message_id)
    return receiving_files(
        request,
        lambda handler: _reply(request, user, parent, handler),
        back_url=message_url(parent.pk),
    )


@csrf_protect
def _reply(
    request: HttpRequest, user: User, parent: Message, handler: EncryptingUploadHandler
) -> HttpResponse:
    form = ReplyForm(request.POST)
    valid = form.is_valid()
    uploads = uploads_or_error(handler, form)
    if valid and not handler.refused:
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
        except PlanRequired as refusal:
            return forbidden(request, refusal)
        except ContentUnavailable:
            # The parent's subject (quoted as "Re: …") failed its check: show nothing.
            return unavailable(request, parent)
        else:
            messages.success(request, "Your reply was sent.")
            return redirect("messaging:message", message_id=parent.pk)
    return render_thread_with_errors(request, parent, form=form)


@login_required
@require_http_methods(["GET", "POST"])
def forward(request: HttpRequest, message_id: uuid.UUID) -> HttpResponse:
    user = current_user(request)
    original = access.access_message(user, message_id)
    if not entitlements.allows(user, Feature.FORWARD):
        return _forbidden_free(request, Feature.FORWARD)
    if request.method == "POST":
        form = ForwardForm(request.POST, sender=user)
        form.is_valid()
        status = _check_roles(form, user)
        if not form.errors:
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


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    """An id posted in a form or query string (a draft's), or None when it isn't one."""
    try:
        return uuid.UUID(value or "")
    except ValueError:
        return None
