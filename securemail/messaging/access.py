"""The only way to read messages for a user. Anything out of reach is a 404."""

import uuid

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from securemail.accounts.models import User
from securemail.messaging.models import Attachment, Delivery, Message


def visible_messages(user: User) -> QuerySet[Message]:
    """Messages `user` sent or received (and did not hide), not yet expired."""
    return Message.objects.filter(
        Q(sender=user) | Q(deliveries__recipient=user, deliveries__hidden_at__isnull=True),
        expires_at__gt=timezone.now(),
    ).distinct()


def access_message(user: User, message_id: uuid.UUID | str) -> Message:
    """The message if `user` may see it; Http404 otherwise (unknown, expired or not theirs)."""
    try:
        message_uuid = uuid.UUID(str(message_id))
    except ValueError:
        raise Http404 from None
    message = (
        visible_messages(user).select_related("sender__practice").filter(pk=message_uuid).first()
    )
    if message is None:
        raise Http404
    return message


def thread_messages(user: User, message: Message) -> list[Message]:
    """Every message of `message`'s conversation that `user` can see, oldest first."""
    root = message.root_id
    return list(
        visible_messages(user)
        .filter(Q(pk=root) | Q(thread_root_id=root))
        .select_related("sender__practice")
        .prefetch_related("deliveries__recipient", "attachments")
        .order_by("sent_at")
    )


def inbox(user: User) -> QuerySet[Delivery]:
    return (
        Delivery.objects.filter(
            recipient=user, hidden_at__isnull=True, message__expires_at__gt=timezone.now()
        )
        .select_related("message__sender__practice")
        .order_by("-sent_at")
    )


def sent(user: User) -> QuerySet[Message]:
    return (
        Message.objects.filter(sender=user, expires_at__gt=timezone.now())
        .prefetch_related("deliveries__recipient")
        .order_by("-sent_at")
    )


def unread_count(user: User) -> int:
    return Delivery.objects.filter(
        recipient=user,
        read_at__isnull=True,
        hidden_at__isnull=True,
        message__expires_at__gt=timezone.now(),
    ).count()


def access_attachment(message: Message, attachment_id: uuid.UUID | str) -> Attachment:
    """An attachment of a message the caller already got through access_message."""
    try:
        attachment_uuid = uuid.UUID(str(attachment_id))
    except ValueError:
        raise Http404 from None
    attachment = Attachment.objects.filter(message=message, pk=attachment_uuid).first()
    if attachment is None:
        raise Http404
    return attachment
