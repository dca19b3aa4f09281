"""Mailbox actions: reading, archiving, deleting, expiry, downloads."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from securemail.accounts.models import User
from securemail.audit import services as audit
from securemail.core import crypto
from securemail.messaging.content import attachment_key_context, expiry_day, message_key_context
from securemail.messaging.models import Attachment, AttachmentDownload, Delivery, Message
from securemail.messaging.services.common import MessagingError, NotAllowed, delete_blobs


def mark_read(*, reader: User, messages: list[Message]) -> None:
    """Record that `reader` opened these messages (first open only) and audit the view."""
    now = timezone.now()
    # Deliveries a prefetch already shows as read (or not the reader's) need no UPDATE.
    unread = [m for m in messages if not _known_read(reader, m)]
    with transaction.atomic():
        if unread:
            Delivery.objects.filter(
                recipient=reader, message__in=unread, read_at__isnull=True
            ).update(read_at=now)
        audit.record_many(
            "messaging:message:view",
            actor_id=reader.pk,
            practice_id=reader.practice_id,
            targets=[f"message:{message.pk}" for message in messages],
        )


def _known_read(reader: User, message: Message) -> bool:
    """True when the message's deliveries were loaded (access.thread_messages) and none of
    the reader's is unread (read_at is set once and never cleared: a stale copy can't wrongly
    say read)."""
    if not hasattr(message, "thread_deliveries"):
        return False
    return not any(
        d.recipient_id == reader.pk and d.read_at is None for d in message.thread_deliveries
    )


def _own_delivery(user: User, message: Message) -> Delivery:
    delivery = Delivery.objects.filter(message=message, recipient=user).first()
    if delivery is None:
        raise NotAllowed("not a recipient")
    return delivery


def set_archived(*, user: User, message: Message, archived: bool) -> None:
    """Move a received message to the Archive folder or back to the Inbox."""
    with transaction.atomic():
        delivery = _own_delivery(user, message)
        delivery.archived_at = timezone.now() if archived else None
        delivery.save(update_fields=["archived_at"])
        audit.record(
            "messaging:message:archive" if archived else "messaging:message:unarchive",
            actor_id=user.pk,
            practice_id=user.practice_id,
            target=f"message:{message.pk}",
        )


def hide_for_me(*, user: User, message: Message) -> None:
    """A recipient's delete: gone from their mailbox only; everyone else keeps it."""
    with transaction.atomic():
        delivery = _own_delivery(user, message)
        delivery.hidden_at = timezone.now()
        delivery.save(update_fields=["hidden_at"])
        audit.record(
            "messaging:message:hide",
            actor_id=user.pk,
            practice_id=user.practice_id,
            target=f"message:{message.pk}",
        )


def delete_for_everyone(*, actor: User, message: Message) -> None:
    """The sender deletes a message (and, for a conversation's first message, its replies)
    for every party at once. Its data keys stay wrapped under the expiry day's shredding
    key, so a database backup holds it only until that day ends (README: shredding)."""
    if message.sender_id != actor.pk:
        raise NotAllowed("delete")
    with transaction.atomic():
        ids = list(
            Message.objects.filter(pk=message.pk)
            .values_list("pk", flat=True)
            .union(Message.objects.filter(thread_root=message).values_list("pk", flat=True))
        )
        blobs = list(Attachment.objects.filter(message__in=ids).values_list("blob_name", flat=True))
        Message.objects.filter(pk__in=ids).delete()
        audit.record(
            "messaging:message:delete",
            actor_id=actor.pk,
            practice_id=actor.practice_id,
            target=f"message:{message.pk}",
            data={"count": len(ids)},
        )
        transaction.on_commit(lambda: delete_blobs(blobs))


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
        if locked.thread_root_id is not None:
            # Replies never outlive the conversation's first message.
            root_expiry = Message.objects.values_list("expires_at", flat=True).get(
                pk=locked.thread_root_id
            )
            if expires_at > root_expiry:
                raise MessagingError(
                    "A reply can't be kept longer than its conversation, which is deleted "
                    f"for everyone on {_day(actor, root_expiry)}."
                )
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


def _day(user: User, moment: datetime) -> str:
    """A date as `user` reads it, in their time zone ("May 16, 2031")."""
    return f"{moment.astimezone(ZoneInfo(user.time_zone)):%b %-d, %Y}"


def _move_expiry(message: Message, expires_at: datetime) -> None:
    """Set a new expiry and re-wrap the message's (and attachments') data keys under the
    new day's shredding key. Caller holds the row lock."""
    message.expires_at = expires_at
    day = expiry_day(message)
    message.wrapped_key = crypto.rewrap_data_key(
        bytes(message.wrapped_key), context=message_key_context(message), move_to_day=day
    )
    message.key_version = crypto.wrapped_key_version(message.wrapped_key)
    message.save(update_fields=["expires_at", "wrapped_key", "key_version"])
    Delivery.objects.filter(message=message).update(expires_at=expires_at)
    for attachment in Attachment.objects.select_for_update().filter(message=message):
        attachment.wrapped_key = crypto.rewrap_data_key(
            bytes(attachment.wrapped_key),
            context=attachment_key_context(attachment),
            move_to_day=day,
        )
        attachment.key_version = crypto.wrapped_key_version(attachment.wrapped_key)
        attachment.save(update_fields=["wrapped_key", "key_version"])


def expire_due_messages() -> int:
    """Delete every message whose expiry has passed, with its mailbox entries and files,
    for every party (run by the worker). Returns how many were deleted."""
    now = timezone.now()
    with transaction.atomic():
        due = list(Message.objects.filter(expires_at__lte=now).values_list("pk", flat=True))
        if not due:
            return 0
        blobs = list(Attachment.objects.filter(message__in=due).values_list("blob_name", flat=True))
        Message.objects.filter(pk__in=due).delete()
        transaction.on_commit(lambda: delete_blobs(blobs))
        audit.record("messaging:message:expire", actor_id=None, data={"count": len(due)})
    return len(due)


def record_download(*, reader: User, attachment: Attachment) -> None:
    """Audit an attachment download and keep its first time for the delivery slip."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                AttachmentDownload.objects.get_or_create(
                    attachment=attachment, user=reader, defaults={"first_at": timezone.now()}
                )
        except IntegrityError:
            # Two downloads at once: the other one recorded the first time.
            pass
        audit.record(
            "messaging:attachment:download",
            actor_id=reader.pk,
            practice_id=reader.practice_id,
            target=f"attachment:{attachment.pk}",
            data={"message": str(attachment.message_id)},
        )
