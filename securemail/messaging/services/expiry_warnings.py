"""The worker's warning before a conversation is deleted (README "Expiry warnings").

A conversation is deleted with its first message (replies never outlive it, see
services.common.create_message and mailbox.change_expiry), so the warning is about the first
message's expiry: `limits().expiry_warning_days` before it, everyone who can still see a
message of the conversation, with an active account, gets one email. A conversation that
lives that long or less gets none (its new-message email gave the date, moments earlier).

Exactly once with any number of workers: each conversation is claimed by one conditional
UPDATE of its first message (`expiry_warned_for` set to its expiry, where it wasn't), in the
transaction that queues the emails and writes the audit entry; a second worker's UPDATE
waits for that transaction and then matches no row. When the sender moves the expiry, the
new date differs from the one warned of, so it is warned of in its turn.
"""

import uuid
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from securemail.accounts.models import User
from securemail.audit import services as audit
from securemail.audit.events import Event
from securemail.core.limits import limits
from securemail.messaging.emails import queue_expiry_warning
from securemail.messaging.models import Delivery, Message


def _due(now: datetime) -> QuerySet[Message]:
    """First messages of conversations inside the warning window, not yet warned of their
    current expiry, that lived longer than the window."""
    window = timedelta(days=limits().expiry_warning_days)
    return (
        Message.objects.filter(
            thread_root__isnull=True, expires_at__gt=now, expires_at__lte=now + window
        )
        .filter(expires_at__gt=F("sent_at") + window)
        .exclude(expiry_warned_for=F("expires_at"))
    )


def warn_of_expiry() -> int:
    """Email both sides of every conversation due for its warning (run by the worker).
    Side effects: the outbox emails, one audit entry per conversation (ids only). Returns
    how many conversations were warned."""
    now = timezone.now()
    warned = 0
    for root_id in list(_due(now).order_by("expires_at").values_list("pk", flat=True)):
        with transaction.atomic():
            # The claim: another worker that got here first leaves no row to update.
            if not _due(now).filter(pk=root_id).update(expiry_warned_for=F("expires_at")):
                continue
            root = Message.objects.select_related("sender__practice").get(pk=root_id)
            people = _who_can_see(root, now)
            for person, open_at in people:
                queue_expiry_warning(conversation=root, person=person, open_at=open_at)
            audit.record(
                Event.CONVERSATION_EXPIRY_WARNED,
                actor_id=None,
                practice_id=root.sender.practice_id,
                target=f"message:{root.pk}",
                data={"recipients": [person.pk for person, _ in people]},
            )
            warned += 1
    return warned


def _who_can_see(root: Message, now: datetime) -> list[tuple[User, Message]]:
    """Everyone with an active account who can see a message of `root`'s conversation (the
    visibility rule: they sent it, or received it and did not hide it), each with the first
    such message (the email's link opens the conversation there)."""
    thread = list(
        Message.objects.filter(Q(pk=root.pk) | Q(thread_root=root), expires_at__gt=now).order_by(
            "sent_at", "pk"
        )
    )
    received: dict[uuid.UUID, list[int]] = {m.pk: [] for m in thread}
    for message_id, recipient_id in Delivery.objects.filter(
        message__in=thread, hidden_at__isnull=True
    ).values_list("message_id", "recipient_id"):
        received[message_id].append(recipient_id)
    first_seen: dict[int, Message] = {}
    for message in thread:
        for user_id in [message.sender_id, *received[message.pk]]:
            first_seen.setdefault(user_id, message)
    # Someone still registering can't open it yet (their invitation's emails are theirs).
    people = User.objects.filter(
        pk__in=first_seen, status=User.Status.ACTIVE, is_active=True
    ).order_by("pk")
    return [(person, first_seen[person.pk]) for person in people]
