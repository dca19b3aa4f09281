"""Sending: new messages (with invitations), replies, reply-all and forwards.

Order in every service: authorize → plan and rate limits → write → audit → queue
notifications (the outbox rows commit with the message, or not at all).
"""

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.utils import timezone

from securemail.accounts.models import User, normalize_email
from securemail.audit import services as audit
from securemail.core import crypto, ratelimit
from securemail.core.blobs import blob_store
from securemail.core.stream import StreamEncryptor
from securemail.messaging.content import (
    attachment_chunks,
    open_attachment,
    open_content,
    open_subject,
)
from securemail.messaging.models import Delivery, Message
from securemail.messaging.services.common import (
    MessagingError,
    NotAllowed,
    RecipientSpec,
    can_compose,
    check_attachment_limits,
    create_message,
    deliver_all,
    expiry_for,
    store_attachment,
    store_uploads,
)
from securemail.messaging.uploads import EncryptedUpload
from securemail.notifications.access import bounced_addresses
from securemail.onboarding import services as onboarding

REPLY_PREFIX = "Re: "
MAX_LOOKUP = 20
FORWARD_PREFIX = "Fwd: "


def count_lookups(*, sender: User, count: int) -> None:
    """Charge `count` address look-ups to the sender's per-minute limit (one cache round
    trip whatever the count); MessagingError when over it."""
    try:
        if count:
            ratelimit.consume("lookup", f"user:{sender.pk}", amount=count)
    except ratelimit.RateLimited:
        raise MessagingError("Too many address look-ups. Wait a minute and try again.") from None


def known_addresses(emails: list[str]) -> set[str]:
    """Which of these (normalized) addresses have an account. Uncharged: only for callers
    that reveal the answer after charging for it (see lookup_addresses)."""
    return set(User.objects.filter(email__in=emails).values_list("email", flat=True))


def lookup_addresses(*, sender: User, emails: list[str]) -> set[str]:
    """Which of `emails` SecureMail already knows. Paid users only; rate limited, since it
    tells whether an address has an account: each address counts."""
    if not can_compose(sender):
        raise NotAllowed("compose")
    normalized = list(dict.fromkeys(normalize_email(e) for e in emails))
    if len(normalized) > MAX_LOOKUP:
        raise MessagingError(f"Send to at most {MAX_LOOKUP} people at once.")
    count_lookups(sender=sender, count=len(normalized))
    return known_addresses(normalized)


def lookup_address(*, sender: User, email: str) -> bool:
    """Is `email` already a SecureMail user? (See lookup_addresses.)"""
    return normalize_email(email) in lookup_addresses(sender=sender, emails=[email])


def _existing(sender: User, client_token: uuid.UUID | None) -> Message | None:
    if client_token is None:
        return None
    return Message.objects.filter(sender=sender, client_token=client_token).first()


def _already_sent(
    sender: User, client_token: uuid.UUID | None, attachments: Sequence[EncryptedUpload]
) -> Message | None:
    """The message a repeated `client_token` already sent (a double submit). The repeat's
    files were encrypted to the blob store as they arrived but are never stored: delete
    their blobs, or they would stay behind, referenced by nothing, expired by nothing."""
    existing = _existing(sender, client_token)
    if existing is not None:
        for upload in attachments:
            upload.discard()
    return existing


def _day(user: User, moment: datetime) -> str:
    """A date as `user` reads it, in their time zone ("Nov 29, 2026")."""
    return f"{moment.astimezone(ZoneInfo(user.time_zone)):%b %-d, %Y}"


def _resolve(sender: User, recipients: list[RecipientSpec]) -> list[tuple[User, str, bool]]:
    """Existing users as they are; new addresses become invited accounts (role required)."""
    seen: set[str] = set()
    resolved: list[tuple[User, str, bool]] = []
    emails = list(dict.fromkeys(normalize_email(spec.email) for spec in recipients))
    bounced = bounced_addresses(emails)
    # Everyone already known, in one query (not one per recipient).
    known = {u.email: u for u in User.objects.filter(email__in=emails)}
    for spec in recipients:
        email = normalize_email(spec.email)
        if email in seen:
            continue
        seen.add(email)
        if email == sender.email:
            raise MessagingError("You can't send a secure message to yourself.")
        if email in bounced:
            # The notification (or the invitation) could never arrive.
            raise MessagingError(
                f"Email to {email} bounced on {_day(sender, bounced[email].bounced_at)}: the "
                "address doesn't accept mail. Check it for typos, or ask the person for "
                "another address."
            )
        user = known.get(email)
        if user is None:
            if spec.role is None:
                raise MessagingError(f"Select the recipient's role for {email}.")
            invitation = onboarding.invite(inviter=sender, email=email, role=spec.role)
            resolved.append((invitation.invitee, spec.kind, True))
        else:
            resolved.append((user, spec.kind, False))
    return resolved


def send_message(
    *,
    sender: User,
    recipients: list[RecipientSpec],
    subject: str,
    body: str,
    client_token: uuid.UUID | None = None,
    attachments: Sequence[EncryptedUpload] = (),
    expiry_days: int | None = None,
) -> Message:
    """Send a new message to To and Cc recipients. New addresses become invited free
    accounts (with their role's welcome email); known ones get a notification email.
    Paid users only. A repeated `client_token` returns the first message (double submit).

    Side effects: Message, Delivery and Attachment rows, invitations, outbox emails, audit.
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
    existing = _already_sent(sender, client_token, attachments)
    if existing is not None:
        return existing
    try:
        return _start_conversation(
            sender=sender,
            recipients=recipients,
            subject=subject,
            body=body,
            client_token=client_token,
            expiry_days=expiry_days,
            add_files=lambda message: store_uploads(message, attachments),
            event="messaging:message:send",
        )
    except IntegrityError:
        # A double submission raced us: the first one won, return it.
        existing = _already_sent(sender, client_token, attachments)
        if existing is not None:
            return existing
        raise


def reply_recipients(*, sender: User, parent: Message, reply_all: bool) -> list[User]:
    """Who a reply goes to. The server decides this, never the form: the parent's sender
    (or, replying to one's own message, its recipients); with reply-all, everyone on the
    parent. Nobody new can be added this way; reply-all is paid only (see reply)."""
    deliveries = list(parent.deliveries.select_related("recipient").order_by("id"))
    if reply_all:
        people = [parent.sender] + [d.recipient for d in deliveries]
    elif parent.sender_id == sender.pk:
        people = [d.recipient for d in deliveries]
    else:
        people = [parent.sender]
    unique: dict[int, User] = {}
    for person in people:
        if person.pk != sender.pk:
            unique.setdefault(person.pk, person)
    return list(unique.values())


def reply(
    *,
    sender: User,
    parent: Message,
    body: str,
    client_token: uuid.UUID | None = None,
    attachments: Sequence[EncryptedUpload] = (),
    reply_all: bool = False,
) -> Message:
    """Reply to a message the sender can see (free accounts included, attachments too).
    Reply-all is for paid accounts only (SPEC §4): NotAllowed for a free one."""
    if not body.strip():
        raise MessagingError("Write your reply.")
    if reply_all and not can_compose(sender):
        raise NotAllowed("reply_all")
    existing = _already_sent(sender, client_token, attachments)
    if existing is not None:
        return existing
    if parent.expires_at <= timezone.now():
        raise MessagingError("This conversation has expired.")
    check_attachment_limits(attachments)
    recipients = reply_recipients(sender=sender, parent=parent, reply_all=reply_all)
    if not recipients:
        raise MessagingError("There is nobody else in this conversation to reply to.")
    subject = open_subject(parent)
    if not subject.lower().startswith(REPLY_PREFIX.lower()):
        subject = REPLY_PREFIX + subject
    try:
        with transaction.atomic():
            now = timezone.now()
            message = create_message(
                sender=sender,
                subject=subject,
                body=body,
                now=now,
                expires_at=expiry_for(sender, now, None),
                client_token=client_token,
                parent=parent,
            )
            store_uploads(message, attachments)
            Delivery.objects.filter(
                message=parent, recipient=sender, replied_at__isnull=True
            ).update(replied_at=now)
            deliver_all(
                message=message,
                recipients=[(recipient, Delivery.Kind.TO, True) for recipient in recipients],
            )
            audit.record(
                "messaging:message:reply",
                actor_id=sender.pk,
                practice_id=sender.practice_id,
                target=f"message:{message.pk}",
                data={
                    "in_reply_to": str(parent.pk),
                    "recipients": [r.pk for r in recipients],
                    "all": reply_all,
                },
            )
    except IntegrityError:
        # A double submission raced us (both passed the check above): the first one won.
        existing = _already_sent(sender, client_token, attachments)
        if existing is not None:
            return existing
        raise
    return message


def forward(
    *,
    sender: User,
    original: Message,
    recipients: list[RecipientSpec],
    note: str,
    client_token: uuid.UUID | None = None,
) -> Message:
    """Forward a message the sender can see, with its attachments, as a new conversation.
    Paid users only (it can invite new people)."""
    if not can_compose(sender):
        raise NotAllowed("forward")
    if not recipients:
        raise MessagingError("Add at least one recipient.")
    existing = _existing(sender, client_token)
    if existing is not None:
        return existing
    content = open_content(original)
    subject = content.subject
    if not subject.lower().startswith(FORWARD_PREFIX.lower()):
        subject = FORWARD_PREFIX + subject
    quoted = "\n".join(f"> {line}" for line in content.body.splitlines())
    body = (
        f"{note.rstrip()}\n\n---------- Forwarded message ----------\n"
        f"From: {original.sender.display_name}\n"
        f"Date: {original.sent_at:%Y-%m-%d %H:%M} UTC\n\n{quoted}"
    ).lstrip()
    return _start_conversation(
        sender=sender,
        recipients=recipients,
        subject=subject,
        body=body,
        client_token=client_token,
        expiry_days=None,
        add_files=lambda message: _copy_attachments(original, message),
        event="messaging:message:forward",
        audit_data={"original": str(original.pk)},
    )


def _start_conversation(
    *,
    sender: User,
    recipients: list[RecipientSpec],
    subject: str,
    body: str,
    client_token: uuid.UUID | None,
    expiry_days: int | None,
    add_files: Callable[[Message], None],
    event: str,
    audit_data: dict[str, Any] | None = None,
) -> Message:
    """One transaction: invite the new addresses, store the message and its files, deliver
    to every recipient, audit. The invited get their welcome email, the rest a notice."""
    with transaction.atomic():
        resolved = _resolve(sender, recipients)
        now = timezone.now()
        message = create_message(
            sender=sender,
            subject=subject,
            body=body,
            now=now,
            expires_at=expiry_for(sender, now, expiry_days),
            client_token=client_token,
        )
        add_files(message)
        deliver_all(
            message=message,
            recipients=[(recipient, kind, not invited) for recipient, kind, invited in resolved],
        )
        audit.record(
            event,
            actor_id=sender.pk,
            practice_id=sender.practice_id,
            target=f"message:{message.pk}",
            data={"recipients": [r.pk for r, _, _ in resolved], **(audit_data or {})},
        )
    return message


def _copy_attachments(original: Message, message: Message) -> None:
    """Re-encrypt each attachment under a new key for the new message (streaming)."""
    store = blob_store()
    for attachment in original.attachments.all():
        opened = open_attachment(attachment)
        blob_name = uuid.uuid4().hex
        data_key = crypto.new_data_key()
        encryptor = StreamEncryptor(data_key, context=f"blob:{blob_name}")
        with store.open_write(blob_name) as out:
            for piece in attachment_chunks(opened):
                out.write(encryptor.update(piece))
            out.write(encryptor.finalize())
        store_attachment(
            message,
            blob_name=blob_name,
            data_key=data_key,
            name=opened.name,
            content_type=attachment.content_type,
            size=attachment.size,
            position=attachment.position,
        )
