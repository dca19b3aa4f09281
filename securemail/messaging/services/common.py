"""What every messaging service shares: errors, the plan rule, attachments, notifications."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.urls import reverse

from securemail.accounts.models import User
from securemail.core import crypto
from securemail.core.blobs import blob_store
from securemail.messaging.content import (
    attachment_key_context,
    expiry_day,
    seal_content,
    seal_name,
)
from securemail.messaging.models import Attachment, Delivery, Message
from securemail.messaging.uploads import EncryptedUpload
from securemail.notifications.services import queue_emails
from securemail.onboarding.models import RecipientRole


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
    """Paid doctors and staff of a practice start conversations, forward and invite; free
    accounts only reply."""
    return (
        user.is_paid
        and user.kind in {User.Kind.DOCTOR, User.Kind.STAFF}
        and user.practice_id is not None
    )


def expiry_for(sender: User, now: datetime, days: int | None) -> datetime:
    chosen = sender.default_expiry_days if days is None else days
    days = min(max(chosen, 1), settings.SECUREMAIL_MAX_EXPIRY_DAYS)
    return now + timedelta(days=days)


def create_message(
    *,
    sender: User,
    subject: str,
    body: str,
    now: datetime,
    expires_at: datetime,
    client_token: uuid.UUID | None = None,
    parent: Message | None = None,
) -> Message:
    """Store one sealed message (the signature appended to the body)."""
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


def deliver_all(*, message: Message, recipients: list[tuple[User, str, bool]]) -> list[Delivery]:
    """Put `message` in each (recipient, kind, notify) mailbox, and queue the notification
    to those with notify: one insert for the deliveries, one per distinct email."""
    deliveries = Delivery.objects.bulk_create(
        [
            Delivery(
                message=message,
                recipient=recipient,
                kind=kind,
                sent_at=message.sent_at,
                expires_at=message.expires_at,
                notified_at=message.sent_at,
            )
            for recipient, kind, _ in recipients
        ]
    )
    queue_new_message_emails(
        message=message, recipients=[r for r, _, notify in recipients if notify]
    )
    return deliveries


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


def store_attachment(
    message: Message,
    *,
    blob_name: str,
    data_key: bytes,
    name: str,
    content_type: str,
    size: int,
    position: int,
) -> Attachment:
    """Record one sealed blob as an attachment, its key wrapped under the keyring and the
    message's expiry day."""
    attachment = Attachment(
        message=message,
        blob_name=blob_name,
        content_type=content_type or "application/octet-stream",
        size=size,
        position=position,
    )
    attachment.wrapped_key = crypto.wrap_data_key(
        data_key, context=attachment_key_context(attachment), expires_on=expiry_day(message)
    )
    attachment.key_version = crypto.wrapped_key_version(attachment.wrapped_key)
    attachment.name_sealed = seal_name(attachment, data_key, name)
    attachment.save()
    return attachment


def store_uploads(message: Message, uploads: Sequence[EncryptedUpload]) -> None:
    for position, upload in enumerate(uploads):
        store_attachment(
            message,
            blob_name=upload.blob_name,
            data_key=upload.data_key,
            name=upload.name or "",
            content_type=upload.content_type or "",
            size=upload.size or 0,
            position=position,
        )


def queue_new_message_emails(*, message: Message, recipients: list[User]) -> None:
    """The notification: who wrote and a link. Never the subject, body or file names. It
    differs only for recipients still registering (no login link): rendered once for each
    kind of recipient, whatever their number."""
    sender = message.sender
    context = {
        "sender_name": sender.display_name,
        "practice_name": sender.practice.name if sender.practice else "",
        "link": settings.SECUREMAIL_BASE_URL
        + reverse("messaging:message", kwargs={"message_id": message.pk}),
        "is_reply": message.in_reply_to_id is not None,
        "expires_at": message.expires_at,
    }
    for pending in (False, True):
        group = [
            (r.email, r.pk)
            for r in recipients
            if (r.status in {User.Status.INVITED, User.Status.STARTED}) == pending
        ]
        queue_emails(
            recipients=group,
            template="messaging/emails/new_message",
            context={**context, "pending": pending},
            kind="new_message",
        )


def delete_blobs(names: list[str]) -> None:
    store = blob_store()
    for name in names:
        store.delete(name)
