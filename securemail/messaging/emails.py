"""The one email messaging sends: the new-message notice (who wrote, and a link)."""

from django.conf import settings
from django.urls import reverse

from securemail.accounts.models import User
from securemail.messaging.models import Message
from securemail.notifications.models import NotificationKind, OutboxEmail
from securemail.notifications.services import queue_emails


def queue_new_message_emails(*, message: Message, recipients: list[User]) -> dict[int, OutboxEmail]:
    """The notification: who wrote and a link. Never the subject, body or file names. It
    differs only for recipients still registering (no login link): rendered once for each
    kind of recipient, whatever their number. Returns each recipient's email, by user id."""
    sender = message.sender
    context = {
        "sender_name": sender.display_name,
        "practice_name": sender.practice.name if sender.practice else "",
        "link": settings.SECUREMAIL_BASE_URL
        + reverse("messaging:message", kwargs={"message_id": message.pk}),
        "is_reply": message.in_reply_to_id is not None,
        "expires_at": message.expires_at,
    }
    queued: dict[int, OutboxEmail] = {}
    for pending in (False, True):
        group = [
            (r.email, r.pk)
            for r in recipients
            if (r.status in {User.Status.INVITED, User.Status.STARTED}) == pending
        ]
        emails = queue_emails(
            recipients=group,
            template="messaging/emails/new_message",
            context={**context, "pending": pending},
            kind=NotificationKind.NEW_MESSAGE,
        )
        queued.update((user_id, email) for (_, user_id), email in zip(group, emails, strict=True))
    return queued
