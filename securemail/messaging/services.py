"""The only writers of messages and mailboxes.

Order in every service: authorize → plan and rate limits → write → audit → queue
notifications (the outbox rows commit with the message, or not at all).
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from securemail.accounts.models import User, normalize_email
from securemail.audit import services as audit
from securemail.core import crypto, ratelimit
from securemail.core.blobs import blob_store
from securemail.messaging.content import expiry_day, open_subject, seal_content, seal_name
from securemail.messaging.models import Attachment, Delivery, Message
from securemail.messaging.uploads import EncryptedUpload
from securemail.notifications.services import queue_email
from securemail.onboarding import services as onboarding
from securemail.onboarding.models import RecipientRole

REPLY_PREFIX = "Re: "


class MessagingError(Exception):
    """Something the person can fix; `str(error)` says what."""


class NotAllowed(Exception):
    """The plan or role does not allow this (a 403, with an explanation)."""


@dataclass(frozen=True)
class RecipientSpec:
    email: str
    role: RecipientRole | None = None
    kind: str = Delivery.Kind.TO


def can_compose(user: User) -> bool:
    """Paid doctors and staff of a practice start conversations; free accounts only reply."""
    return (
        user.is_paid
        and user.kind in {User.Kind.DOCTOR, User.Kind.STAFF}
        and user.practice_id is not None
    )


def lookup_address(*, sender: User, email: str) -> bool:
    """Is `email` already a SecureMail user? Paid users only; rate limited.

    Returns True for a known address (no role needed), False for a new one.
    """
    if not can_compose(sender):
        raise NotAllowed("compose")
    try:
        ratelimit.consume("lookup", f"user:{sender.pk}")
    except ratelimit.RateLimited:
        raise MessagingError("Too many address look-ups. Wait a minute and try again.") from None
    return User.objects.filter(email=normalize_email(email)).exists()


def send_message(
    *,
    sender: User,
    recipients: list[RecipientSpec],
    subject: str,
    body: str,
    client_token: uuid.UUID | None = None,
    attachments: Sequence[EncryptedUpload] = (),
) -> Message:
    """Send a new message. New addresses become invited free accounts (with their role's
    welcome email); known ones get a notification email. Paid users only.

    Side effects: Message and Delivery rows, invitations, outbox emails, audit entries.
    """
    if not can_compose(sender):
        raise NotAllowed("compose")
    subject = subject.strip()
    if not subject:
        raise MessagingError("Enter a subject.")
    if not body.strip() and not sender.signature.strip():
        # A saved signature counts as body text.
        raise MessagingError("Write a message.")
    if not recipients:
        raise MessagingError("Add at least one recipient.")
    check_attachment_limits(attachments)
    if client_token is not None:
        existing = Message.objects.filter(sender=sender, client_token=client_token).first()
        if existing is not None:
            return existing
    try:
        with transaction.atomic():
            return _send_locked(
                sender=sender,
                recipients=recipients,
                subject=subject,
                body=body,
                client_token=client_token,
                attachments=attachments,
            )
    except IntegrityError:
        # A double submission raced us: the first one won, return it.
        if client_token is not None:
            existing = Message.objects.filter(sender=sender, client_token=client_token).first()
            if existing is not None:
                return existing
        raise


def _send_locked(
    *,
    sender: User,
    recipients: list[RecipientSpec],
    subject: str,
    body: str,
    client_token: uuid.UUID | None,
    attachments: Sequence[EncryptedUpload],
) -> Message:
    now = timezone.now()
    seen: set[str] = set()
    resolved: list[tuple[User, str, bool]] = []
    for spec in recipients:
        email = normalize_email(spec.email)
        if email in seen:
            continue
        seen.add(email)
        if email == sender.email:
            raise MessagingError("You can't send a secure message to yourself.")
        user = User.objects.filter(email=email).first()
        if user is None:
            if spec.role is None:
                raise MessagingError(f"Select the recipient's role for {email}.")
            invitation = onboarding.invite(inviter=sender, email=email, role=spec.role)
            resolved.append((invitation.invitee, spec.kind, True))
        else:
            resolved.append((user, spec.kind, False))
    message = _create_message(
        sender=sender, subject=subject, body=body, now=now, client_token=client_token
    )
    _store_attachments(message, attachments)
    for recipient, kind, invited in resolved:
        delivery = Delivery.objects.create(
            message=message, recipient=recipient, kind=kind, sent_at=now, notified_at=now
        )
        if not invited:
            _queue_new_message_email(message=message, delivery=delivery)
    audit.record(
        "messaging:message:send",
        actor_id=sender.pk,
        practice_id=sender.practice_id,
        target=f"message:{message.pk}",
        data={"recipients": [r.pk for r, _, _ in resolved]},
    )
    return message


def _create_message(
    *,
    sender: User,
    subject: str,
    body: str,
    now: datetime,
    client_token: uuid.UUID | None = None,
    parent: Message | None = None,
) -> Message:
    days = min(max(sender.default_expiry_days, 1), settings.SECUREMAIL_MAX_EXPIRY_DAYS)
    expires_at = now + timedelta(days=days)
    if parent is not None:
        # A reply never outlives its conversation's first message.
        expires_at = min(expires_at, parent.expires_at)
    message = Message(
        sender=sender,
        sent_at=now,
        expires_at=expires_at,
        client_token=client_token,
        thread_root_id=parent.root_id if parent else None,
        in_reply_to=parent,
    )
    signature = sender.signature.strip()
    if signature and signature not in body:
        body = f"{body.rstrip()}\n\n-- \n{signature}" if body.strip() else signature
    seal_content(message, subject=subject, body=body)
    message.save()
    return message


def check_attachment_limits(attachments: Sequence[EncryptedUpload]) -> None:
    if len(attachments) > settings.SECUREMAIL_MAX_ATTACHMENTS:
        raise MessagingError(
            f"Attach at most {settings.SECUREMAIL_MAX_ATTACHMENTS} files to one message."
        )
    total = sum(upload.size or 0 for upload in attachments)
    if total > settings.SECUREMAIL_MAX_MESSAGE_ATTACHMENTS_BYTES:
        limit = settings.SECUREMAIL_MAX_MESSAGE_ATTACHMENTS_BYTES // (1024 * 1024)
        raise MessagingError(f"Attachments on one message can add up to {limit} MB at most.")
    for upload in attachments:
        if not upload.size:
            raise MessagingError(f"“{upload.name}” is empty. Attach a file with content.")


def _store_attachments(message: Message, uploads: Sequence[EncryptedUpload]) -> None:
    """Wrap each upload's data key under the keyring and the message's expiry day."""
    day = expiry_day(message)
    for position, upload in enumerate(uploads):
        attachment = Attachment(
            message=message,
            blob_name=upload.blob_name,
            content_type=upload.content_type or "application/octet-stream",
            size=upload.size or 0,
            position=position,
        )
        attachment.wrapped_key = crypto.wrap_data_key(
            upload.data_key, context=f"attachment:{attachment.pk}", expires_on=day
        )
        attachment.key_version = crypto.wrapped_key_version(attachment.wrapped_key)
        attachment.name_sealed = seal_name(attachment, upload.data_key, upload.name or "")
        attachment.save()


def _queue_new_message_email(*, message: Message, delivery: Delivery) -> None:
    recipient = delivery.recipient
    sender = message.sender
    pending = recipient.status in {User.Status.INVITED, User.Status.STARTED}
    queue_email(
        to=recipient.email,
        template="messaging/emails/new_message",
        context={
            "sender_name": sender.display_name,
            "practice_name": sender.practice.name if sender.practice else "",
            "link": settings.SECUREMAIL_BASE_URL
            + reverse("messaging:message", kwargs={"message_id": message.pk}),
            "pending": pending,
            "is_reply": message.in_reply_to_id is not None,
            "expires_at": message.expires_at,
        },
        kind="new_message",
        recipient_user_id=recipient.pk,
    )


def reply(
    *,
    sender: User,
    parent: Message,
    body: str,
    client_token: uuid.UUID | None = None,
    attachments: Sequence[EncryptedUpload] = (),
) -> Message:
    """Reply to a message the sender can see (free accounts included). The reply goes to
    the parent's sender, or, when replying to one's own message, to its recipients. Nobody
    new can be added: the server decides the recipients, not the form."""
    if not body.strip():
        raise MessagingError("Write your reply.")
    if client_token is not None:
        existing = Message.objects.filter(sender=sender, client_token=client_token).first()
        if existing is not None:
            return existing
    if parent.expires_at <= timezone.now():
        raise MessagingError("This conversation has expired.")
    check_attachment_limits(attachments)
    if parent.sender_id == sender.pk:
        recipients = [d.recipient for d in parent.deliveries.select_related("recipient")]
    else:
        recipients = [parent.sender]
    subject = open_subject(parent)
    if not subject.lower().startswith(REPLY_PREFIX.lower()):
        subject = REPLY_PREFIX + subject
    now = timezone.now()
    with transaction.atomic():
        message = _create_message(
            sender=sender,
            subject=subject,
            body=body,
            now=now,
            client_token=client_token,
            parent=parent,
        )
        _store_attachments(message, attachments)
        for recipient in recipients:
            delivery = Delivery.objects.create(
                message=message, recipient=recipient, sent_at=now, notified_at=now
            )
            _queue_new_message_email(message=message, delivery=delivery)
        audit.record(
            "messaging:message:reply",
            actor_id=sender.pk,
            practice_id=sender.practice_id,
            target=f"message:{message.pk}",
            data={"in_reply_to": str(parent.pk), "recipients": [r.pk for r in recipients]},
        )
    return message


def mark_read(*, reader: User, messages: list[Message]) -> None:
    """Record that `reader` opened these messages (first open only) and audit the view."""
    now = timezone.now()
    with transaction.atomic():
        Delivery.objects.filter(
            recipient=reader, message__in=messages, read_at__isnull=True
        ).update(read_at=now)
        for message in messages:
            audit.record(
                "messaging:message:view",
                actor_id=reader.pk,
                practice_id=reader.practice_id,
                target=f"message:{message.pk}",
            )


def expire_due_messages() -> int:
    """Delete every message whose expiry has passed, with its mailbox entries, for every
    party (run by the worker). Returns how many were deleted."""
    now = timezone.now()
    with transaction.atomic():
        due = list(Message.objects.filter(expires_at__lte=now).values_list("pk", flat=True))
        if not due:
            return 0
        blobs = list(Attachment.objects.filter(message__in=due).values_list("blob_name", flat=True))
        Message.objects.filter(pk__in=due).delete()
        transaction.on_commit(lambda: _delete_blobs(blobs))
        audit.record("messaging:message:expire", actor_id=None, data={"count": len(due)})
    return len(due)


def _delete_blobs(names: list[str]) -> None:
    store = blob_store()
    for name in names:
        store.delete(name)


def record_download(*, reader: User, attachment: Attachment) -> None:
    """Audit an attachment download (the delivery slip reads it from the audit log)."""
    audit.record(
        "messaging:attachment:download",
        actor_id=reader.pk,
        practice_id=reader.practice_id,
        target=f"attachment:{attachment.pk}",
        data={"message": str(attachment.message_id)},
    )


def delete_for_everyone(*, actor: User, message: Message) -> None:
    """The sender deletes a message (and its replies, if it starts a conversation) for every
    party at once. Its keys stay wrapped under the expiry day, so old backups hold it only
    until that day ends (see README, "What shredding guarantees")."""
    if message.sender_id != actor.pk:
        raise NotAllowed("delete")
    with transaction.atomic():
        doomed = Message.objects.filter(pk=message.pk) | Message.objects.filter(thread_root=message)
        ids = list(doomed.values_list("pk", flat=True))
        blobs = list(Attachment.objects.filter(message__in=ids).values_list("blob_name", flat=True))
        Message.objects.filter(pk__in=ids).delete()
        audit.record(
            "messaging:message:delete",
            actor_id=actor.pk,
            practice_id=actor.practice_id,
            target=f"message:{message.pk}",
            data={"count": len(ids)},
        )
        transaction.on_commit(lambda: _delete_blobs(blobs))


def change_expiry(*, actor: User, message: Message, expires_at: datetime) -> None:
    """The sender moves a message's expiry (never past 30 days after sending, never into
    the past). Its data keys move to the new day's shredding key."""
    if message.sender_id != actor.pk:
        raise NotAllowed("expiry")
    latest = message.sent_at + timedelta(days=settings.SECUREMAIL_MAX_EXPIRY_DAYS)
    if expires_at > latest:
        raise MessagingError("A message can't be kept more than 30 days after it was sent.")
    if expires_at <= timezone.now():
        raise MessagingError("Choose a time in the future, or delete the message now.")
    with transaction.atomic():
        locked = Message.objects.select_for_update().get(pk=message.pk)
        _move_expiry(locked, expires_at)
        if locked.thread_root_id is None:
            # Replies never outlive the conversation's first message.
            for later in Message.objects.select_for_update().filter(
                thread_root=locked, expires_at__gt=expires_at
            ):
                _move_expiry(later, expires_at)
        audit.record(
            "messaging:message:expiry",
            actor_id=actor.pk,
            practice_id=actor.practice_id,
            target=f"message:{message.pk}",
        )
    message.expires_at = expires_at


def _move_expiry(message: Message, expires_at: datetime) -> None:
    """Set a new expiry and re-wrap the message's (and attachments') data keys under the
    new day's shredding key. Caller holds the row lock."""
    message.expires_at = expires_at
    day = expiry_day(message)
    message.wrapped_key = crypto.rewrap_data_key(
        bytes(message.wrapped_key), context=f"message:{message.pk}", move_to_day=day
    )
    message.key_version = crypto.wrapped_key_version(message.wrapped_key)
    message.save(update_fields=["expires_at", "wrapped_key", "key_version"])
    for attachment in Attachment.objects.select_for_update().filter(message=message):
        attachment.wrapped_key = crypto.rewrap_data_key(
            bytes(attachment.wrapped_key),
            context=f"attachment:{attachment.pk}",
            move_to_day=day,
        )
        attachment.key_version = crypto.wrapped_key_version(attachment.wrapped_key)
        attachment.save(update_fields=["wrapped_key", "key_version"])
