"""The outbox: queue emails, texts and voice calls inside the caller's transaction, deliver
them after commit (the worker), with retries."""

import json
import logging
import smtplib
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from securemail.core import crypto
from securemail.core.limits import limits
from securemail.notifications.models import (
    BouncedAddress,
    NotificationKind,
    OutboxEmail,
    OutboxEntry,
    OutboxText,
)
from securemail.notifications.sms import get_provider

logger = logging.getLogger(__name__)

# Seconds to wait before each retry; after the last one the email is marked failed.
RETRY_DELAYS = [60, 300, 1800, 7200, 43200]
# A worker that died mid-send leaves its claim; after this long another worker retakes it.
CLAIM_SECONDS = 600


def render_email(template: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """Render `<template>/subject.txt`, `body.txt` and `body.html`."""
    ctx = {"base_url": settings.SECUREMAIL_BASE_URL, "limits": limits(), **context}
    subject = " ".join(render_to_string(f"{template}/subject.txt", ctx).split())
    text = render_to_string(f"{template}/body.txt", ctx)
    html = render_to_string(f"{template}/body.html", ctx)
    return subject, text, html


def _seal(row: OutboxEntry, payload: str) -> None:
    """Seal an outbox row's content under a data key of its own (its links or codes must
    not sit in the database in clear until the worker sends it)."""
    data_key = crypto.new_data_key()
    row.wrapped_key = crypto.wrap_data_key(data_key, context=row.key_context())
    row.key_version = crypto.wrapped_key_version(row.wrapped_key)
    row.sealed_payload = crypto.seal(data_key, payload, context=row.sealed_context("payload"))


def _open(row: OutboxEntry) -> str:
    """The content `_seal` stored (crypto.DecryptionError if its key is gone)."""
    assert row.wrapped_key is not None
    assert row.sealed_payload is not None
    data_key = crypto.unwrap_data_key(bytes(row.wrapped_key), context=row.key_context())
    return crypto.open_sealed(
        data_key, bytes(row.sealed_payload), context=row.sealed_context("payload")
    )


def queue_email(
    *,
    to: str,
    template: str,
    context: dict[str, Any],
    kind: NotificationKind,
    recipient_user_id: int | None = None,
) -> OutboxEmail:
    """Store one rendered email in the outbox (sealed). Call inside the causing transaction;
    the worker delivers it once that transaction has committed."""
    return queue_emails(
        recipients=[(to, recipient_user_id)], template=template, context=context, kind=kind
    )[0]


def queue_emails(
    *,
    recipients: Sequence[tuple[str, int | None]],
    template: str,
    context: dict[str, Any],
    kind: NotificationKind,
) -> list[OutboxEmail]:
    """queue_email for the same email to several (address, user id) recipients: rendered
    once, sealed for each under its own data key, stored in one insert."""
    if not recipients:
        return []
    subject, text, html = render_email(template, context)
    payload = json.dumps({"subject": subject, "text": text, "html": html})
    now = timezone.now()
    emails = []
    for to, recipient_user_id in recipients:
        email = OutboxEmail(
            to_email=to,
            kind=kind,
            created_at=now,
            next_attempt_at=now,
            recipient_user_id=recipient_user_id,
        )
        _seal(email, payload)
        emails.append(email)
    return OutboxEmail.objects.bulk_create(emails)


def queue_text(
    *,
    to: str,
    channel: str,
    text: str,
    kind: NotificationKind,
    recipient_user_id: int | None = None,
) -> OutboxText:
    """Store one text message (`channel` "sms") or voice call ("voice", `text` is spoken) in
    the outbox, sealed. Call inside the causing transaction: the worker hands it to the SMS
    provider once that transaction has committed, so a slow or failing provider never holds
    the transaction open or decides whether it commits."""
    now = timezone.now()
    outgoing = OutboxText(
        to_phone=to,
        channel=OutboxText.Channel(channel),
        kind=kind,
        created_at=now,
        next_attempt_at=now,
        recipient_user_id=recipient_user_id,
    )
    _seal(outgoing, text)
    outgoing.save()
    return outgoing


def _text(outgoing: OutboxText) -> str:
    return _open(outgoing)


def _payload(email: OutboxEmail) -> dict[str, str]:
    return dict(json.loads(_open(email)))


def _claim_due[Row: (OutboxEmail, OutboxText)](model: type[Row], limit: int) -> list[Row]:
    now = timezone.now()
    with transaction.atomic():
        due = list(
            model.objects.select_for_update(skip_locked=True)
            .filter(
                status__in=[
                    OutboxEmail.Status.QUEUED,
                    OutboxEmail.Status.RETRY,
                    OutboxEmail.Status.SENDING,
                ],
                next_attempt_at__lte=now,
            )
            .order_by("next_attempt_at")[:limit]
        )
        for row in due:
            row.status = OutboxEmail.Status.SENDING
            row.attempts += 1
            row.next_attempt_at = now + timedelta(seconds=CLAIM_SECONDS)
            row.save(update_fields=["status", "attempts", "next_attempt_at"])
    return due


def deliver_due(limit: int = 50) -> int:
    """Send the emails, texts and calls that are due (called by the worker). Returns how
    many were sent."""
    return _deliver_due_emails(limit) + _deliver_due_texts(limit)


def _deliver_due_texts(limit: int) -> int:
    sent = 0
    provider = get_provider()
    for outgoing in _claim_due(OutboxText, limit):
        try:
            text = _text(outgoing)
        except crypto.DecryptionError:
            outgoing.attempts = len(RETRY_DELAYS) + 1
            _failed(outgoing, RuntimeError("payload unreadable"))
            continue
        try:
            if outgoing.channel == OutboxText.Channel.VOICE:
                provider.place_call(to=outgoing.to_phone, spoken_text=text)
            else:
                provider.send_text(to=outgoing.to_phone, text=text)
        except Exception as error:  # noqa: BLE001
            # Whatever one provider call raises, the row is retried and the batch goes on.
            _failed(outgoing, error)
            continue
        _sent(outgoing)
        sent += 1
    return sent


def _sent(row: OutboxEmail | OutboxText) -> None:
    row.status = OutboxEmail.Status.SENT
    row.sent_at = timezone.now()
    # The content is no longer needed once delivered: drop it (and the links or codes in it).
    row.wrapped_key = None
    row.key_version = None
    row.sealed_payload = None
    row.last_error = ""
    row.save(
        update_fields=[
            "status",
            "sent_at",
            "wrapped_key",
            "key_version",
            "sealed_payload",
            "last_error",
        ]
    )


def _deliver_due_emails(limit: int) -> int:
    sent = 0
    for email in _claim_due(OutboxEmail, limit):
        try:
            payload = _payload(email)
        except crypto.DecryptionError:
            # Its key is gone (shredded or rotated away): retrying can't help.
            email.attempts = len(RETRY_DELAYS) + 1
            _failed(email, RuntimeError("payload unreadable"))
            continue
        try:
            message = EmailMultiAlternatives(
                subject=payload["subject"],
                body=payload["text"],
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[email.to_email],
                headers={"Auto-Submitted": "auto-generated"},
            )
            message.attach_alternative(payload["html"], "text/html")
            mailers.default.send_messages([message])
        except smtplib.SMTPRecipientsRefused as error:
            code = _permanent_refusal(error)
            if code is None:
                _failed(email, error)
            else:
                _bounced(email, code)
            continue
        except Exception as error:  # noqa: BLE001
            # Whatever one delivery raises, the row is retried and the batch goes on.
            _failed(email, error)
            continue
        # Mail to this address gets through (again): it no longer counts as bounced.
        BouncedAddress.objects.filter(email=email.to_email.lower()).delete()
        _sent(email)
        sent += 1
    return sent


def _permanent_refusal(error: smtplib.SMTPRecipientsRefused) -> int | None:
    """The 5xx code when every recipient was refused for good; None for a 4xx (try again)."""
    codes = [code for code, _ in error.recipients.values()]
    return codes[0] if codes and all(500 <= code < 600 for code in codes) else None


def _bounced(email: OutboxEmail, code: int) -> None:
    """The receiving server refused the address for good: no retries, and remember it."""
    now = timezone.now()
    email.status = OutboxEmail.Status.FAILED
    email.last_error = f"bounced ({code})"
    email.key_version = None
    email.wrapped_key = None
    email.sealed_payload = None
    email.save()
    BouncedAddress.objects.update_or_create(
        email=email.to_email.lower(), defaults={"bounced_at": now, "smtp_code": code}
    )
    logger.warning("outbox: %s bounced (%s), not retried", email.id, code)


def _failed(email: OutboxEmail | OutboxText, error: Exception) -> None:
    email.last_error = type(error).__name__[:200]
    if email.attempts > len(RETRY_DELAYS):
        email.status = OutboxEmail.Status.FAILED
        email.key_version = None
        email.wrapped_key = None
        email.sealed_payload = None
    else:
        email.status = OutboxEmail.Status.RETRY
        email.next_attempt_at = timezone.now() + timedelta(seconds=RETRY_DELAYS[email.attempts - 1])
    email.save()
    logger.warning(
        "outbox: delivery of %s failed (%s), attempt %s", email.id, email.last_error, email.attempts
    )
