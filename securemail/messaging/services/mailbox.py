"""Mailbox actions: reading, archiving, deleting, expiry, downloads; the invitees'
reminders (what is waiting for them is the mailbox's to say)."""

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from securemail.accounts.models import User
from securemail.audit import services as audit
from securemail.audit.events import Event
from securemail.core import crypto
from securemail.core.limits import days, limits
from securemail.messaging import access
from securemail.messaging.content import expiry_day
from securemail.messaging.models import Attachment, AttachmentDownload, Delivery, Message
from securemail.messaging.services.common import (
    MessagingError,
    NotARecipient,
    day_label,
    delete_blobs,
)
from securemail.messaging.services.indexing import reindex, unindex_for
from securemail.onboarding import services as onboarding


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
            Event.MESSAGE_VIEWED,
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
    delivery = access.own_delivery(user, message)
    if delivery is None:
        raise NotARecipient(str(message.pk))
    return delivery


def set_archived(*, user: User, message: Message, archived: bool) -> None:
    """Move a received message to the Archive folder or back to the Inbox."""
    with transaction.atomic():
        delivery = _own_delivery(user, message)
        delivery.archived_at = timezone.now() if archived else None
        delivery.save(update_fields=["archived_at"])
        audit.record(
            Event.MESSAGE_ARCHIVED if archived else Event.MESSAGE_UNARCHIVED,
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
        # Gone from their searches too.
        unindex_for(owner=user, message=message)
        audit.record(
            Event.MESSAGE_HIDDEN,
            actor_id=user.pk,
            practice_id=user.practice_id,
            target=f"message:{message.pk}",
        )


def delete_for_everyone(*, actor: User, message: Message) -> None:
    """The sender deletes a message (and, for a conversation's first message, its replies)
    for every party at once. Its data keys stay wrapped under the expiry day's shredding
    key, so a database backup holds it only until that day ends (README: shredding).
    Only its sender (NotTheSender otherwise)."""
    access.require_sender(actor, message)
    with transaction.atomic():
        ids = list(
            Message.objects.filter(pk=message.pk)
            .values_list("pk", flat=True)
            .union(Message.objects.filter(thread_root=message).values_list("pk", flat=True))
        )
        blobs = list(Attachment.objects.filter(message__in=ids).values_list("blob_name", flat=True))
        audit.record_many(
            Event.REPLY_DELETED_WITH_CONVERSATION,
            actor_id=actor.pk,
            practice_id=actor.practice_id,
            targets=[f"message:{i}" for i in ids if i != message.pk],
            data={"conversation": str(message.pk)},
        )
        Message.objects.filter(pk__in=ids).delete()
        audit.record(
            Event.MESSAGE_DELETED,
            actor_id=actor.pk,
            practice_id=actor.practice_id,
            target=f"message:{message.pk}",
            data={"count": len(ids)},
        )
        transaction.on_commit(lambda: delete_blobs(blobs))


def change_expiry(*, actor: User, message: Message, expires_at: datetime) -> None:
    """The sender moves a message's expiry (never past the longest expiry after sending,
    never into the past). Its data keys move to the new day's shredding key. Only its sender
    (NotTheSender otherwise); a time on the last allowed day is cut to the latest moment."""
    access.require_sender(actor, message)
    longest = limits().max_expiry_days
    latest = message.sent_at + timedelta(days=longest)
    zone = actor.zone
    if expires_at.astimezone(zone).date() > latest.astimezone(zone).date():
        raise MessagingError(
            f"A message can't be kept more than {days(longest)} after it was sent: choose "
            f"{latest.astimezone(zone):%B %-d} or earlier."
        )
    expires_at = min(expires_at, latest)
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
                    f"for everyone on {day_label(actor, root_expiry)}."
                )
        _move_expiry(locked, expires_at)
        if locked.thread_root_id is None:
            # Replies never outlive the conversation's first message.
            for later in Message.objects.select_for_update().filter(
                thread_root=locked, expires_at__gt=expires_at
            ):
                _move_expiry(later, expires_at)
        audit.record(
            Event.MESSAGE_EXPIRY_CHANGED,
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
        bytes(message.wrapped_key), context=message.key_context(), move_to_day=day
    )
    message.key_version = crypto.wrapped_key_version(message.wrapped_key)
    message.save(update_fields=["expires_at", "wrapped_key", "key_version"])
    Delivery.objects.filter(message=message).update(expires_at=expires_at)
    # The search tokens are keyed by the expiry day too: write them under the new one.
    reindex(message)
    for attachment in Attachment.objects.select_for_update().filter(message=message):
        attachment.wrapped_key = crypto.rewrap_data_key(
            bytes(attachment.wrapped_key),
            context=attachment.key_context(),
            move_to_day=day,
        )
        attachment.key_version = crypto.wrapped_key_version(attachment.wrapped_key)
        # The storage quota counts it until this moment now.
        attachment.expires_at = expires_at
        attachment.save(update_fields=["wrapped_key", "key_version", "expires_at"])


def expire_due_messages() -> int:
    """Delete every message whose expiry has passed, with its mailbox entries and files,
    for every party (run by the worker). Returns how many were deleted."""
    now = timezone.now()
    with transaction.atomic():
        due = list(Message.objects.filter(expires_at__lte=now).values_list("pk", flat=True))
        if not due:
            return 0
        blobs = list(Attachment.objects.filter(message__in=due).values_list("blob_name", flat=True))
        audit.record_each(
            Event.MESSAGE_EXPIRED,
            actor_id=None,
            entries=[
                (p, f"message:{m}")
                for m, p in Message.objects.filter(pk__in=due).values_list(
                    "pk", "sender__practice_id"
                )
            ],
        )
        Message.objects.filter(pk__in=due).delete()
        transaction.on_commit(lambda: delete_blobs(blobs))
        audit.record(Event.MESSAGES_EXPIRED, actor_id=None, data={"count": len(due)})
    return len(due)


def remind_invitees() -> int:
    """The worker's job: remind the invitees who haven't registered while a message is
    waiting for them (onboarding.services.reminders: the days, the claim, the email). A
    message waits until it expires or its sender deletes it (its mailbox entries go with
    it); the reminder says when the last one waiting is deleted. Returns reminders queued."""
    last_deleted = (
        Delivery.objects.filter(recipient=OuterRef("invitee_id"))
        .order_by("-expires_at")
        .values("expires_at")[:1]
    )
    return onboarding.send_due_reminders(waiting_until=Subquery(last_deleted))


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
            Event.ATTACHMENT_DOWNLOADED,
            actor_id=reader.pk,
            practice_id=reader.practice_id,
            target=f"attachment:{attachment.pk}",
            data={"message": str(attachment.message_id)},
        )
