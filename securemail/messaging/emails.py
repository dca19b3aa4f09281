"""The one notice messaging sends: a new message is waiting (who wrote, and a link), by
email, by text message or both, as each recipient chose (accounts.notify)."""

from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from securemail.accounts.models import User
from securemail.accounts.notify import STILL_REGISTERING, new_message_channels, text_due_at
from securemail.messaging.models import Message
from securemail.notifications.models import NotificationKind, OutboxEmail, OutboxText
from securemail.notifications.services import queue_emails, queue_text


@dataclass(frozen=True)
class Notified:
    """What one recipient was sent about a message: its email, its text, or neither."""

    email: OutboxEmail | None = None
    text: OutboxText | None = None


def new_message_text(*, link: str, is_reply: bool) -> str:
    """The text message: no names, no subject, nothing of the message (a text is read on a
    lock screen, and kept by the phone company), only that one is waiting and its link.
    Plain ASCII, so it fits one 160-character text."""
    what = "A reply to your secure message" if is_reply else "A new secure message"
    return f"SecureMail: {what} is waiting. Log in to read it: {link}"


def queue_new_message_notices(*, message: Message, recipients: list[User]) -> dict[int, Notified]:
    """Tell each recipient a message is waiting, as they chose: the email says who wrote and
    has a link; the text has only the link, and waits out the recipient's quiet hours. Never
    the subject, body or file names. The email differs only for recipients still
    registering (no login link): rendered once for each kind of recipient, whatever their
    number. Returns what each recipient was sent, by user id (someone who chose no notices
    is left out)."""
    sender = message.sender
    link = settings.SECUREMAIL_BASE_URL + reverse(
        "messaging:message", kwargs={"message_id": message.pk}
    )
    is_reply = message.in_reply_to_id is not None
    context = {
        "sender_name": sender.display_name,
        "practice_name": sender.practice.name if sender.practice else "",
        "link": link,
        "is_reply": is_reply,
        "expires_at": message.expires_at,
    }
    channels = {r.pk: new_message_channels(r) for r in recipients}
    emails: dict[int, OutboxEmail] = {}
    for pending in (False, True):
        group = [
            (r.email, r.pk)
            for r in recipients
            if channels[r.pk].email and (r.status in STILL_REGISTERING) == pending
        ]
        queued = queue_emails(
            recipients=group,
            template="messaging/emails/new_message",
            context={**context, "pending": pending},
            kind=NotificationKind.NEW_MESSAGE,
        )
        emails.update((user_id, email) for (_, user_id), email in zip(group, queued, strict=True))
    now = timezone.now()
    text = new_message_text(link=link, is_reply=is_reply)
    texts = {
        r.pk: queue_text(
            to=r.phone,
            channel="sms",
            text=text,
            kind=NotificationKind.NEW_MESSAGE_TEXT,
            recipient_user_id=r.pk,
            not_before=text_due_at(r, now),
        )
        for r in recipients
        if channels[r.pk].text
    }
    return {
        r.pk: Notified(email=emails.get(r.pk), text=texts.get(r.pk))
        for r in recipients
        if not channels[r.pk].none
    }
