"""What every messaging service shares: errors, storing messages, attachments, delivery."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from securemail.accounts.models import User
from securemail.core import crypto
from securemail.core.blobs import blob_store
from securemail.core.limits import limits
from securemail.core.rows import insert_objects
from securemail.messaging.content import expiry_day, seal_content, seal_name
from securemail.messaging.emails import queue_new_message_notices
from securemail.messaging.models import Attachment, Delivery, Message
from securemail.messaging.quota import over_quota_text, storage_use
from securemail.messaging.uploads import EncryptedUpload, over_total_text, too_many_files_text
from securemail.onboarding.models import RecipientRole


class MessagingError(Exception):
    """Something the person can fix; `str(error)` says what."""


class NotARecipient(Exception):
    """A mailbox action on a message the person was not sent (they only see it as its
    sender): there is no mailbox entry to change."""


@dataclass(frozen=True)
class RecipientSpec:
    """An address as the sender typed it, with the role chosen for it if it is new."""

    email: str
    role: RecipientRole | None = None
    kind: str = Delivery.Kind.TO


@dataclass(frozen=True)
class Recipient:
    """A person a message is delivered to."""

    user: User
    kind: str = Delivery.Kind.TO
    # Given an account by this message: their welcome email stands for the notification.
    invited: bool = False

    @property
    def notify(self) -> bool:
        return not self.invited


def day_label(user: User, moment: datetime) -> str:
    """A date as `user` reads it, in their time zone ("Nov 29, 2026")."""
    return f"{moment.astimezone(user.zone):%b %-d, %Y}"


def expiry_for(sender: User, now: datetime, days: int | None) -> datetime:
    chosen = sender.default_expiry_days if days is None else days
    days = min(max(chosen, 1), limits().max_expiry_days)
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
    seal_content(message, subject=subject, body=signed_body(sender, body))
    # Not save(): building the ORM's insert cost more than running it (core.rows).
    insert_objects([message])
    return message


def signed_body(sender: User, body: str) -> str:
    """The body as stored: with the sender's signature at the end (unless it is there)."""
    signature = sender.signature.strip()
    if signature and signature not in body:
        return f"{body.rstrip()}\n\n-- \n{signature}" if body.strip() else signature
    return body


def deliver_all(*, message: Message, recipients: list[Recipient]) -> list[Delivery]:
    """Put `message` in each recipient's mailbox, and queue the notice to those not invited
    by it (the invited got their welcome email), by email or text as each chose: one insert
    for the deliveries, one per distinct email, one per text. Each delivery keeps its
    notices (for the slip); someone who chose none has no `notified_at`."""
    notified = queue_new_message_notices(
        message=message, recipients=[r.user for r in recipients if r.notify]
    )
    deliveries = []
    for recipient in recipients:
        sent = notified.get(recipient.user.pk)
        deliveries.append(
            Delivery(
                message=message,
                recipient=recipient.user,
                kind=recipient.kind,
                sent_at=message.sent_at,
                expires_at=message.expires_at,
                notified_at=message.sent_at if sent or recipient.invited else None,
                notification=sent.email if sent else None,
                text_notification=sent.text if sent else None,
            )
        )
    insert_objects(deliveries, shared=_DELIVERY_SHARED)
    return deliveries


# What every delivery of one message shares (passed once: core.rows).
_DELIVERY_SHARED = (
    "message_id",
    "sent_at",
    "expires_at",
    "read_at",
    "replied_at",
    "archived_at",
    "hidden_at",
)


def check_attachment_limits(attachments: Sequence[EncryptedUpload]) -> None:
    if len(attachments) > limits().max_attachments:
        raise MessagingError(too_many_files_text())
    total = sum(upload.size or 0 for upload in attachments)
    if total > settings.SECUREMAIL_MAX_MESSAGE_ATTACHMENTS_BYTES:
        raise MessagingError(over_total_text())
    for upload in attachments:
        if not upload.size:
            raise MessagingError(f"“{upload.name}” is empty. Attach a file with content.")


def reserve_storage(
    sender: User, size: int, *, client_token: uuid.UUID | None = None
) -> Message | None:
    """Refuse (MessagingError) files of `size` bytes that would take `sender` past their
    storage quota; exactly at it is allowed. Call it inside the transaction that stores
    them, before storing: it locks the sender's row until that transaction ends, so of two
    sends at once the second counts the first's files (on PostgreSQL; SQLite has one writer
    at a time anyway). The sum is its own statement, after the lock is granted: under READ
    COMMITTED a statement that waited for the lock still reads from its own snapshot, taken
    before the other send committed.

    The lock is FOR NO KEY UPDATE: it excludes other sends by `sender` but not the rows
    that only reference them (a message delivered to them takes FOR KEY SHARE), or two
    people sending each other files at once would each wait for the other (a deadlock).

    Returns the message `client_token` already sent, if the send that held the lock was
    this one clicked twice: the caller returns that one (its files are counted already)."""
    if size <= 0:
        return None
    list(
        User.objects.select_for_update(no_key=True)
        .filter(pk=sender.pk)
        .values_list("pk", flat=True)
    )
    if client_token is not None:
        existing = Message.objects.filter(sender=sender, client_token=client_token).first()
        if existing is not None:
            return existing
    use = storage_use(sender)
    if use.used + size > use.quota:
        raise MessagingError(over_quota_text(use))
    return None


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
        sender_id=message.sender_id,
        expires_at=message.expires_at,
        blob_name=blob_name,
        content_type=content_type or "application/octet-stream",
        size=size,
        position=position,
    )
    attachment.wrapped_key = crypto.wrap_data_key(
        data_key, context=attachment.key_context(), expires_on=expiry_day(message)
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


def delete_blobs(names: list[str]) -> None:
    store = blob_store()
    for name in names:
        store.delete(name)
