"""The only way to read messages for a user. Anything out of reach is a 404."""

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from securemail.accounts.models import User
from securemail.messaging.models import Attachment, AttachmentDownload, Delivery, Draft, Message
from securemail.notifications.access import bounced_addresses
from securemail.onboarding.models import Invitation


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


def _received(user: User, *, archived: bool) -> QuerySet[Delivery]:
    return (
        Delivery.objects.filter(
            recipient=user,
            hidden_at__isnull=True,
            archived_at__isnull=not archived,
            expires_at__gt=timezone.now(),
        )
        .select_related("message__sender__practice")
        .order_by("-sent_at", "-id")
    )


def inbox(user: User) -> QuerySet[Delivery]:
    return _received(user, archived=False)


def archive(user: User) -> QuerySet[Delivery]:
    return _received(user, archived=True)


def sent(user: User) -> QuerySet[Message]:
    return (
        Message.objects.filter(sender=user, expires_at__gt=timezone.now())
        .prefetch_related("deliveries__recipient")
        .order_by("-sent_at", "-id")
    )


def unread_count(user: User) -> int:
    return Delivery.objects.filter(
        recipient=user,
        read_at__isnull=True,
        hidden_at__isnull=True,
        expires_at__gt=timezone.now(),
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


def bounced_among(emails: list[str]) -> list[str]:
    """Which of these (normalized) addresses bounced: a new conversation to them is refused."""
    return sorted(bounced_addresses(emails))


def own_delivery(user: User, message: Message) -> Delivery | None:
    """The user's mailbox entry for a message they received (None for the sender)."""
    return Delivery.objects.filter(message=message, recipient=user).first()


def drafts(user: User) -> QuerySet[Draft]:
    return Draft.objects.filter(owner=user, expires_at__gt=timezone.now()).order_by("-updated_at")


def access_draft(user: User, draft_id: uuid.UUID | str | None) -> Draft | None:
    try:
        draft_uuid = uuid.UUID(str(draft_id))
    except ValueError:
        return None
    return Draft.objects.filter(owner=user, pk=draft_uuid, expires_at__gt=timezone.now()).first()


@dataclass
class SlipRow:
    """What the sender may know about one recipient of one message."""

    recipient: User
    kind: str
    notified_at: datetime | None
    registered_at: datetime | None
    invited: bool
    opened_at: datetime | None
    replied_at: datetime | None
    downloads: dict[uuid.UUID, datetime] = field(default_factory=dict)
    # The notification to this recipient's address bounced: it never arrived.
    bounced_at: datetime | None = None


def delivery_slips(user: User, thread: list[Message]) -> dict[uuid.UUID, list[SlipRow]]:
    """Delivery slips for the messages of `thread` that `user` sent, in a fixed number of
    queries whatever the thread's size."""
    mine = [m for m in thread if m.sender_id == user.pk]
    if not mine:
        return {}
    deliveries = list(
        Delivery.objects.filter(message__in=mine).select_related("recipient").order_by("id")
    )
    recipient_ids = {d.recipient_id for d in deliveries}
    bounced = bounced_addresses(d.recipient.email for d in deliveries)
    # Whoever sent the invitation: someone another sender invited is "not yet" registered
    # here too. The used invitation (at most one) wins over one still open.
    invitations: dict[int, Invitation] = {}
    for inv in Invitation.objects.filter(invitee_id__in=recipient_ids):
        known = invitations.get(inv.invitee_id)
        if known is None or (inv.used_at and not known.used_at):
            invitations[inv.invitee_id] = inv
    downloads: dict[tuple[uuid.UUID, int], dict[uuid.UUID, datetime]] = {}
    for record in AttachmentDownload.objects.filter(
        attachment__message__in=mine, user_id__in=recipient_ids
    ).select_related("attachment"):
        key = (record.attachment.message_id, record.user_id)
        downloads.setdefault(key, {})[record.attachment_id] = record.first_at
    slips: dict[uuid.UUID, list[SlipRow]] = {}
    for delivery in deliveries:
        invitation = invitations.get(delivery.recipient_id)
        if invitation and invitation.used_at and invitation.used_at <= delivery.sent_at:
            # Registered before this message was sent: already a user, for this slip.
            invitation = None
        slips.setdefault(delivery.message_id, []).append(
            SlipRow(
                recipient=delivery.recipient,
                kind=delivery.get_kind_display(),
                notified_at=delivery.notified_at,
                registered_at=invitation.used_at if invitation else None,
                invited=invitation is not None,
                opened_at=delivery.read_at,
                replied_at=delivery.replied_at,
                downloads=downloads.get((delivery.message_id, delivery.recipient_id), {}),
                bounced_at=getattr(bounced.get(delivery.recipient.email), "bounced_at", None),
            )
        )
    return slips
