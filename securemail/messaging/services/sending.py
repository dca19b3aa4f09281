"""Sending: new messages (with invitations), replies, reply-all and forwards.

Order in every service: authorize → plan and rate limits → write → audit → queue
notifications (the outbox rows commit with the message, or not at all).
"""

import uuid
from collections.abc import Callable, Sequence
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from securemail.accounts.models import User
from securemail.audit import services as audit
from securemail.audit.events import Event
from securemail.billing import entitlements
from securemail.billing.entitlements import Feature
from securemail.contacts import services as contacts
from securemail.core import crypto
from securemail.core.blobs import blob_store
from securemail.core.rows import columns_of, fetch
from securemail.core.stream import StreamEncryptor
from securemail.messaging.content import (
    attachment_chunks,
    open_attachment,
    open_content,
    open_subject,
)
from securemail.messaging.models import Attachment, Delivery, Message
from securemail.messaging.services.common import (
    MessagingError,
    Recipient,
    RecipientSpec,
    check_attachment_limits,
    create_message,
    deliver_all,
    expiry_for,
    reserve_storage,
    signed_body,
    store_attachment,
    store_uploads,
)
from securemail.messaging.services.indexing import index_message
from securemail.messaging.services.recipients import resolve
from securemail.messaging.uploads import EncryptedUpload

REPLY_PREFIX = "Re: "
FORWARD_PREFIX = "Fwd: "


def _existing(sender: User, client_token: uuid.UUID | None) -> Message | None:
    if client_token is None:
        return None
    # Hand-written (core.rows): every send asks, and building the ORM's query cost more
    # than running it. As the ORM's .first(): the lowest key.
    found = columns_of(Message)
    token = Message._meta.get_field("client_token").get_db_prep_value(client_token, connection)
    rows: list[Message] = fetch(
        Message,
        f"WHERE {found.column('sender')} = %s AND {found.column('client_token')} = %s "
        f"ORDER BY {found.column('id')} LIMIT 1",
        [sender.pk, token],
    )
    return rows[0] if rows else None


def _already_sent(
    sender: User, client_token: uuid.UUID | None, attachments: Sequence[EncryptedUpload]
) -> Message | None:
    """The message a repeated `client_token` already sent (a double submit). The repeat's
    files were encrypted to the blob store as they arrived but are never stored: delete
    their blobs, or they would stay behind, referenced by nothing, expired by nothing."""
    existing = _existing(sender, client_token)
    if existing is not None:
        _discard(attachments)
    return existing


def _discard(attachments: Sequence[EncryptedUpload]) -> None:
    for upload in attachments:
        upload.discard()


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
    Needs a plan that starts conversations (PlanRequired). A repeated `client_token` returns
    the first message (double submit).

    Side effects: Message, Delivery and Attachment rows, invitations, outbox emails, audit.
    """
    entitlements.require(sender, Feature.START_CONVERSATION)
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
            storage=sum(upload.size or 0 for upload in attachments),
            add_files=lambda message: store_uploads(message, attachments),
            event=Event.MESSAGE_SENT,
            uploads=attachments,
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
    # Each with their practice (the search index names it): one query, whoever they are.
    deliveries = list(
        parent.deliveries.select_related(
            "recipient__practice", "message__sender__practice"
        ).order_by("id")
    )
    author = deliveries[0].message.sender if deliveries else parent.sender
    if reply_all:
        people = [author] + [d.recipient for d in deliveries]
    elif parent.sender_id == sender.pk:
        people = [d.recipient for d in deliveries]
    else:
        people = [author]
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
    Reply-all needs the plan (SPEC §4): PlanRequired for a free account."""
    if reply_all:
        entitlements.require(sender, Feature.REPLY_ALL)
    if not body.strip():
        raise MessagingError("Write your reply.")
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
            sent = reserve_storage(
                sender, sum(upload.size or 0 for upload in attachments), client_token=client_token
            )
            if sent is not None:
                # A double submission that waited for the first one's lock on the quota.
                _discard(attachments)
                return sent
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
            deliver_all(message=message, recipients=[Recipient(user=r) for r in recipients])
            index_message(
                message=message,
                subject=subject,
                body=signed_body(sender, body),
                people=[sender, *recipients],
            )
            contacts.record_exchange(sender=sender, recipients=recipients, at=now)
            audit.record(
                Event.MESSAGE_REPLIED,
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
    Needs the plan (PlanRequired): it starts a conversation and can invite new people."""
    entitlements.require(sender, Feature.FORWARD)
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
    files = list(original.attachments.all())
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
        # Stored again, for the forwarder: they count in the forwarder's quota.
        storage=sum(attachment.size for attachment in files),
        add_files=lambda message: _copy_attachments(files, message),
        event=Event.MESSAGE_FORWARDED,
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
    storage: int,
    add_files: Callable[[Message], None],
    event: Event,
    audit_data: dict[str, Any] | None = None,
    uploads: Sequence[EncryptedUpload] = (),
) -> Message:
    """One transaction: invite the new addresses, store the message and its files (`storage`
    bytes, within the sender's quota), deliver to every recipient, audit. The invited get
    their welcome email, the rest a notice. A double submission that waited for the first
    one's lock on the quota returns the first one's message (its `uploads` discarded)."""
    with transaction.atomic():
        sent = reserve_storage(sender, storage, client_token=client_token)
        if sent is not None:
            _discard(uploads)
            return sent
        resolved = resolve(sender, recipients)
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
        deliver_all(message=message, recipients=resolved)
        index_message(
            message=message,
            subject=subject,
            body=signed_body(sender, body),
            people=[sender, *(r.user for r in resolved)],
        )
        contacts.record_exchange(sender=sender, recipients=[r.user for r in resolved], at=now)
        audit.record(
            event,
            actor_id=sender.pk,
            practice_id=sender.practice_id,
            target=f"message:{message.pk}",
            data={"recipients": [r.user.pk for r in resolved], **(audit_data or {})},
        )
    return message


def _copy_attachments(attachments: list[Attachment], message: Message) -> None:
    """Re-encrypt each attachment under a new key for the new message (streaming)."""
    store = blob_store()
    for attachment in attachments:
        opened = open_attachment(attachment)
        blob_name = uuid.uuid4().hex
        data_key = crypto.new_data_key()
        encryptor = StreamEncryptor(data_key, context=Attachment.blob_context(blob_name))
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
