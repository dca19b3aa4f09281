"""The outbox: queue emails, texts and voice calls inside the caller's transaction, deliver
them after commit (the worker), with retries.

Delivery (the worker's `deliver_due`): each worker takes one due row at a time under a
short lease (`limits().outbox_lease_seconds`), so a worker killed mid-batch holds only the
row it was sending, for one lease; the rest stay free for the other workers. That row may
reach its recipient twice (sent, then retaken before it was marked sent): at most one email
per killed worker. A failure of the mail relay itself (unreachable, disconnected) ends the
pass and marks the email as waiting for the relay: as soon as the relay takes an email
again (or answers the probe made while emails wait for it), they are all due at once,
whatever their backoff. Giving up on a row (retries used up, or bounced) is logged as an
ERROR or WARNING naming its id and kind, and told to the audit log (core.signals).
"""

import json
import logging
import smtplib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from securemail.core import crypto
from securemail.core.limits import limits
from securemail.core.rows import insert_objects
from securemail.core.signals import delivery_given_up
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
# What a worker may take: due rows, and rows whose worker's claim lapsed (it died).
DUE = [OutboxEntry.Status.QUEUED, OutboxEntry.Status.RETRY, OutboxEntry.Status.SENDING]


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
    # Not bulk_create: building the ORM's insert cost more than running it (core.rows).
    insert_objects(emails, shared=_EMAIL_SHARED)
    return emails


# What the emails of one queue_emails share (passed once: core.rows).
_EMAIL_SHARED = (
    "kind",
    "status",
    "attempts",
    "created_at",
    "next_attempt_at",
    "sent_at",
    "given_up_at",
    "last_error",
    "waiting_for_relay",
)


def queue_text(
    *,
    to: str,
    channel: str,
    text: str,
    kind: NotificationKind,
    recipient_user_id: int | None = None,
    not_before: datetime | None = None,
) -> OutboxText:
    """Store one text message (`channel` "sms") or voice call ("voice", `text` is spoken) in
    the outbox, sealed. Call inside the causing transaction: the worker hands it to the SMS
    provider once that transaction has committed, so a slow or failing provider never holds
    the transaction open or decides whether it commits. `not_before`: held until then (the
    recipient's quiet hours), then delivered like any other."""
    now = timezone.now()
    outgoing = OutboxText(
        to_phone=to,
        channel=OutboxText.Channel(channel),
        kind=kind,
        created_at=now,
        next_attempt_at=max(now, not_before) if not_before else now,
        recipient_user_id=recipient_user_id,
    )
    _seal(outgoing, text)
    insert_objects([outgoing])
    return outgoing


def _text(outgoing: OutboxText) -> str:
    return _open(outgoing)


def _payload(email: OutboxEmail) -> dict[str, str]:
    return dict(json.loads(_open(email)))


def _claim_next[Row: (OutboxEmail, OutboxText)](model: type[Row]) -> Row | None:
    """Take the next due row for this worker, alone, under a lease: its `next_attempt_at`
    moves to the lease's end. A worker that dies mid-send holds this one row until then;
    another worker takes it after that (and every other row at once)."""
    now = timezone.now()
    with transaction.atomic():
        row = (
            model.objects.select_for_update(skip_locked=True)
            .filter(status__in=DUE, next_attempt_at__lte=now)
            .order_by("next_attempt_at")
            .first()
        )
        if row is None:
            return None
        row.status = OutboxEntry.Status.SENDING
        row.attempts += 1
        row.next_attempt_at = now + timedelta(seconds=limits().outbox_lease_seconds)
        row.save(update_fields=["status", "attempts", "next_attempt_at"])
    return row


def deliver_due(limit: int = 50) -> int:
    """Send the emails, texts and calls that are due (called by the worker), at most
    `limit` of each. Returns how many were sent."""
    return _deliver_due_emails(limit) + _deliver_due_texts(limit)


class _Outcome(Enum):
    SENT = "sent"
    # Retried later, or given up: this row's own trouble.
    NOT_SENT = "not sent"
    # The relay itself failed: any other email would fail the same way now.
    RELAY_DOWN = "relay down"


# When a text of a kind may go, asked again just before each try: a retry, or a row whose
# worker died, can fall due inside the recipient's quiet hours. The app that keeps the rule
# registers it (accounts, for new-message texts: accounts.notify), so this one needn't
# import it. (recipient user id, now) -> when it may go.
TextSchedule = Callable[[int, datetime], datetime]
_TEXT_SCHEDULES: dict[str, TextSchedule] = {}


def schedule_texts(kind: NotificationKind, due_at: TextSchedule) -> None:
    """Have every text of `kind` wait until `due_at(recipient, now)` before each try."""
    _TEXT_SCHEDULES[kind] = due_at


def _held_until(row: OutboxText) -> datetime | None:
    schedule = _TEXT_SCHEDULES.get(row.kind)
    if schedule is None or row.recipient_user_id is None:
        return None
    now = timezone.now()
    due = schedule(row.recipient_user_id, now)
    return due if due > now else None


def _hold(row: OutboxText, until: datetime) -> None:
    """Not a try: the row waits until `until` as it was (queued, or retrying), its attempt
    given back."""
    row.attempts -= 1
    row.status = OutboxEntry.Status.QUEUED if row.attempts == 0 else OutboxEntry.Status.RETRY
    row.next_attempt_at = until
    row.save(update_fields=["status", "attempts", "next_attempt_at"])


def _deliver_due_texts(limit: int) -> int:
    sent = 0
    provider = get_provider()
    for _ in range(limit):
        outgoing = _claim_next(OutboxText)
        if outgoing is None:
            break
        held_until = _held_until(outgoing)
        if held_until is not None:
            _hold(outgoing, held_until)
            continue
        try:
            text = _text(outgoing)
        except crypto.DecryptionError:
            _give_up(outgoing, OutboxEntry.Status.FAILED, error="DecryptionError")
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


def _deliver_due_emails(limit: int) -> int:
    _probe_relay_if_emails_wait()
    sent = 0
    for _ in range(limit):
        email = _claim_next(OutboxEmail)
        if email is None:
            break
        outcome = _send_email(email)
        if outcome is _Outcome.SENT:
            sent += 1
            if sent == 1:
                # The relay takes mail: whatever waited for it goes now, not at its backoff.
                _relay_is_back()
        elif outcome is _Outcome.RELAY_DOWN:
            # The rest of the pass would fail the same way; they stay due, uncharged.
            break
    return sent


def _send_email(email: OutboxEmail) -> _Outcome:
    try:
        payload = _payload(email)
    except crypto.DecryptionError:
        # Its key is gone (shredded or rotated away): retrying can't help.
        _give_up(email, OutboxEntry.Status.FAILED, error="DecryptionError")
        return _Outcome.NOT_SENT
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
        return _Outcome.NOT_SENT
    except Exception as error:  # noqa: BLE001
        # Whatever one delivery raises, the row is retried and the batch goes on (unless
        # the relay itself failed).
        relay_down = _is_relay_failure(error)
        _failed(email, error, waiting_for_relay=relay_down)
        return _Outcome.RELAY_DOWN if relay_down else _Outcome.NOT_SENT
    # Mail to this address gets through (again): it no longer counts as bounced.
    BouncedAddress.objects.filter(email=email.to_email.lower()).delete()
    _sent(email)
    return _Outcome.SENT


def _is_relay_failure(error: Exception) -> bool:
    """Whether `error` is the relay's (unreachable, gone, refusing our login or sender: any
    email would fail now) rather than this email's (its recipient or content refused)."""
    if isinstance(error, (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError)):
        return False
    # smtplib's errors are OSErrors too, like a refused or timed-out connection.
    return isinstance(error, OSError)


def _relay_is_back() -> int:
    """Make every email that waits for the relay due now. Returns how many."""
    return OutboxEmail.objects.filter(
        status=OutboxEntry.Status.RETRY, waiting_for_relay=True
    ).update(next_attempt_at=timezone.now())


@dataclass
class _ProbeClock:
    """When this process last tried the relay for the emails waiting for it (monotonic)."""

    last: float = float("-inf")
    lock: threading.Lock = field(default_factory=threading.Lock)


_probe_clock = _ProbeClock()


def _probe_relay_if_emails_wait() -> None:
    """At most every `relay_probe_seconds`: while emails wait for the relay, see whether it
    answers (connect, greet, log in, quit; nothing is sent), and if it does, make them due."""
    with _probe_clock.lock:
        if time.monotonic() - _probe_clock.last < limits().relay_probe_seconds:
            return
        _probe_clock.last = time.monotonic()
    waiting = OutboxEmail.objects.filter(
        status=OutboxEntry.Status.RETRY,
        waiting_for_relay=True,
        next_attempt_at__gt=timezone.now(),
    )
    if not waiting.exists():
        return
    mailer = mailers.default
    try:
        mailer.open()
    except Exception as error:  # noqa: BLE001
        logger.info("outbox: the mail relay still fails (%s)", type(error).__name__)
        return
    finally:
        mailer.close()
    due = _relay_is_back()
    logger.info("outbox: the mail relay answers again: %s waiting email(s) due now", due)


def _sent(row: OutboxEmail | OutboxText) -> None:
    row.status = OutboxEntry.Status.SENT
    row.sent_at = timezone.now()
    # The content is no longer needed once delivered: drop it (and the links or codes in it).
    row.wrapped_key = None
    row.key_version = None
    row.sealed_payload = None
    row.last_error = ""
    fields = ["status", "sent_at", "wrapped_key", "key_version", "sealed_payload", "last_error"]
    if isinstance(row, OutboxEmail):
        row.waiting_for_relay = False
        fields.append("waiting_for_relay")
    row.save(update_fields=fields)


def _permanent_refusal(error: smtplib.SMTPRecipientsRefused) -> int | None:
    """The 5xx code when every recipient was refused for good; None for a 4xx (try again)."""
    codes = [code for code, _ in error.recipients.values()]
    return codes[0] if codes and all(500 <= code < 600 for code in codes) else None


def _bounced(email: OutboxEmail, code: int) -> None:
    """The receiving server refused the address for good: no retries, and remember it."""
    with transaction.atomic():
        _give_up(email, OutboxEntry.Status.BOUNCED, error=f"bounced ({code})")
        BouncedAddress.objects.update_or_create(
            email=email.to_email.lower(),
            defaults={"bounced_at": email.given_up_at or timezone.now(), "smtp_code": code},
        )


def _failed(
    row: OutboxEmail | OutboxText, error: Exception, *, waiting_for_relay: bool = False
) -> None:
    """One try failed: retry after the next backoff step, or give up after the last."""
    if row.attempts > len(RETRY_DELAYS):
        _give_up(row, OutboxEntry.Status.FAILED, error=type(error).__name__)
        return
    delay = RETRY_DELAYS[row.attempts - 1]
    row.last_error = type(error).__name__[:200]
    row.status = OutboxEntry.Status.RETRY
    row.next_attempt_at = timezone.now() + timedelta(seconds=delay)
    if isinstance(row, OutboxEmail):
        row.waiting_for_relay = waiting_for_relay
    row.save()
    logger.warning(
        "outbox: %s %s not delivered yet (%s%s), attempt %s of %s; next try in %s s",
        row.kind,
        row.pk,
        row.last_error,
        ", the mail relay failed" if waiting_for_relay else "",
        row.attempts,
        len(RETRY_DELAYS) + 1,
        delay,
    )


def _give_up(row: OutboxEmail | OutboxText, status: OutboxEntry.Status, *, error: str) -> None:
    """Delivery of `row` is given up for good (`status` failed or bounced): its content is
    dropped, and the audit log told, in one transaction; logged without an address."""
    channel = "email" if isinstance(row, OutboxEmail) else "text"
    with transaction.atomic():
        row.status = status
        row.last_error = error[:200]
        row.given_up_at = timezone.now()
        row.key_version = None
        row.wrapped_key = None
        row.sealed_payload = None
        if isinstance(row, OutboxEmail):
            row.waiting_for_relay = False
        row.save()
        delivery_given_up.send(
            sender=type(row),
            outbox_id=str(row.pk),
            channel=channel,
            kind=row.kind,
            outcome=str(status),
            attempts=row.attempts,
            recipient_user_id=row.recipient_user_id,
        )
    if status == OutboxEntry.Status.BOUNCED:
        # The address is wrong or gone: the sender is told in the portal; not retried.
        logger.warning(
            "outbox: %s %s %s not delivered: %s, not retried",
            channel,
            row.kind,
            row.pk,
            row.last_error,
        )
    else:
        logger.error(
            "outbox: %s %s %s NOT DELIVERED, given up after %s attempt(s) (%s)",
            channel,
            row.kind,
            row.pk,
            row.attempts,
            row.last_error,
        )
