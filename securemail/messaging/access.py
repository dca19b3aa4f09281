"""The only way to read messages for a user. Anything out of reach is a 404."""

import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Exists, Field, Model, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from securemail.accounts.models import Practice, User
from securemail.core.rows import (
    Columns,
    Converters,
    Part,
    columns_of,
    converted,
    converters_of,
    fetch_together,
    kept_prepared,
)
from securemail.messaging.models import Attachment, AttachmentDownload, Delivery, Draft, Message
from securemail.notifications.access import (
    Notice,
    NoticeReads,
    NoticeState,
    bounced_addresses,
    notices,
)
from securemail.onboarding.access import Moment, reminders_of, reminders_pending, timeline
from securemail.onboarding.access import with_progress as with_onboarding_progress
from securemail.onboarding.models import Invitation


class NotTheSender(PermissionDenied):
    """Only a message's sender may do this (delete it for everyone, change its expiry)."""


# The "visible to this user" rule: `user` sent the message, or has a delivery of it not
# hidden, and it has not expired. It exists in three forms, each fast where it is used:
# this queryset (single messages), the Python filter in _conversation (a whole thread
# loaded by its keys) and the SQL of _received_rule (received ones only: the inbox and
# archive, and the unread badge on every page). test_visibility_rule.py pins all three to
# the same answers.


def visible_messages(user: User) -> QuerySet[Message]:
    """Messages `user` sent or received (and did not hide), not yet expired (see the rule
    above: its other forms are in _conversation and _received_rule)."""
    # EXISTS, not a join with DISTINCT: no duplicate rows to remove, and PostgreSQL plans it
    # in a fraction of the time (DISTINCT over every selected column was 2 ms of planning).
    received = Delivery.objects.filter(message=OuterRef("pk"), recipient=user, hidden_at=None)
    return Message.objects.filter(Q(sender=user) | Exists(received), expires_at__gt=timezone.now())


def access_message(user: User, message_id: uuid.UUID) -> Message:
    """The message if `user` may see it; Http404 otherwise (unknown, expired or not theirs)."""
    message = (
        visible_messages(user).select_related("sender__practice").filter(pk=message_id).first()
    )
    if message is None:
        raise Http404
    return message


def thread_messages(user: User, message: Message) -> list[Message]:
    """Every message of `message`'s conversation that `user` can see, oldest first, with
    their sender (and practice), deliveries (and recipients) and attachments loaded, in four
    queries whatever the conversation's length.

    The conversation's rows come by their own keys (the root's id, the thread_root index),
    then visibility is decided on them: the user sent it, or has a delivery not hidden. (One
    query joining deliveries with OR and DISTINCT made SQLite scan every live message; joined
    to the sender, SQLite's planner, which counts the NULL thread_root of every first
    message, scans the users instead of using the two indexes.)"""
    return _conversation(user, root=message.root_id)


def require_sender(user: User, message: Message) -> None:
    """NotTheSender unless `user` sent `message` (the services that only its sender may
    call ask this; views ask sender_tools_target to decide what to show)."""
    if not is_sender(user, message):
        raise NotTheSender("Only the sender can do this.")


def is_sender(user: User, message: Message) -> bool:
    return message.sender_id == user.pk


def sender_tools_target(user: User, message: Message, thread: list[Message]) -> Message | None:
    """The message the sender's tools (delete for everyone, change the deletion date) act
    on when `user` opens `message` of `thread`: the conversation when they started it,
    wherever it is opened (a reply in the inbox too); else the opened message when they
    sent it; else none."""
    root = next((m for m in thread if m.thread_root_id is None), None)
    if root is not None and is_sender(user, root):
        return root
    return message if is_sender(user, message) else None


def access_thread(user: User, message_id: uuid.UUID) -> tuple[Message, list[Message]]:
    """access_message and thread_messages at once: the message (Http404 exactly when
    access_message refuses it) and its conversation, the message being one of its rows, in
    thread_messages' queries: none of its own."""
    # The conversation's root is found by the same query as its rows (a subquery: its own
    # round trip was one of every conversation page's queries). Unknown id: no rows.
    thread = _conversation(user, of_message=message_id)
    message = next((m for m in thread if m.pk == message_id), None)
    if message is None:  # expired, hidden or not theirs: the same as access_message
        raise Http404
    return message, thread


def _conversation(
    user: User, *, root: uuid.UUID | None = None, of_message: uuid.UUID | None = None
) -> list[Message]:
    """The visible messages of the conversation whose first message is `root`, or of the
    one `of_message` belongs to."""
    now = timezone.now()
    key = Message._meta.pk.get_db_prep_value(of_message or root, connection)
    # The messages, their deliveries, their people (with their practices) and their files:
    # one round trip on PostgreSQL (core.rows.fetch_together), every statement of constant
    # text (building them with the ORM took longer than running them, bench/served.py).
    found = fetch_together(
        _conversation_parts(connection.vendor),
        with_=_thread_with(of_message is not None, connection.vendor),
        with_params=[key, key],
    )
    rows: list[Message] = [m for (m,) in found[0]]
    # The visibility rule (see visible_messages), decided in Python on the loaded rows.
    # Plain lists on each message, grouped here (Django's prefetch builds a queryset for each).
    deliveries: dict[uuid.UUID, list[Delivery]] = {m.pk: [] for m in rows}
    for (delivery,) in found[1]:
        deliveries[delivery.message_id].append(delivery)
    for m in rows:
        m.thread_deliveries = deliveries[m.pk]
    visible = [
        m
        for m in rows
        if m.expires_at > now
        and (
            m.sender_id == user.pk
            or any(d.recipient_id == user.pk and d.hidden_at is None for d in m.thread_deliveries)
        )
    ]
    if not visible:
        return []
    # The people (senders and recipients) are the same few across the conversation.
    people: dict[int, User] = {}
    for person, practice in found[2]:
        if practice is not None:
            person.practice = practice
        people[person.pk] = person
    for m in visible:
        if m.sender_id in people:  # (someone deleted meanwhile is left to load lazily)
            m.sender = people[m.sender_id]
        for d in m.thread_deliveries:
            if d.recipient_id in people:
                d.recipient = people[d.recipient_id]
    attachments: dict[uuid.UUID, list[Attachment]] = {m.pk: [] for m in visible}
    for (attachment,) in found[3]:
        if attachment.message_id in attachments:
            attachments[attachment.message_id].append(attachment)
    for m in visible:
        m.thread_attachments = attachments[m.pk]
    return visible


@cache
def _thread_with(by_message: bool, _vendor: str) -> str:
    """The conversation's messages (key and sender), for every part to read: those of the
    conversation whose root is the parameter, or (`by_message`) of the root of the message
    the parameter is; the parameter given twice."""
    messages = columns_of(Message)
    key, root, sender = (messages.column(n) for n in ("id", "thread_root", "sender"))
    if by_message:
        root_sql = f"(SELECT COALESCE({root}, {key}) FROM {messages.table} WHERE {key} = %s)"  # noqa: S608
    else:
        root_sql = "%s"
    return (
        f"WITH thread_ AS (SELECT {key} AS id_, {sender} AS sender_ FROM {messages.table}"  # noqa: S608
        f" WHERE {key} = {root_sql} OR {root} = {root_sql})"
    )


@cache
def _conversation_parts(_vendor: str) -> list[Part]:
    messages, deliveries = columns_of(Message), columns_of(Delivery)
    users, practices, files = columns_of(User), columns_of(Practice), columns_of(Attachment)
    in_thread = "IN (SELECT id_ FROM thread_)"

    def of_thread(rows: Columns, order: str, *, by: str = "message") -> Part:
        return Part(
            [rows], f"FROM {rows.table} WHERE {rows.column(by)} {in_thread}", [], order=order
        )

    return [
        of_thread(messages, messages.column("sent_at"), by="id"),
        of_thread(deliveries, deliveries.column("id")),
        Part(
            [users, practices],
            f"FROM {users.table} LEFT JOIN {practices.table}"  # noqa: S608
            f" ON {practices.column('id')} = {users.column('practice')}"
            # One IN of a UNION, not an OR of two (which PostgreSQL can only check against
            # every account: 20,000 rows scanned on the 1M-message benchmark).
            f" WHERE {users.column('id')} IN (SELECT sender_ FROM thread_"
            f" UNION SELECT {deliveries.column('recipient')}"
            f" FROM {deliveries.table} WHERE {deliveries.column('message')} {in_thread})",
            [],
            order=users.column("id"),
        ),
        of_thread(files, files.column("position")),
    ]


def deliveries_of(message: Message) -> list[Delivery]:
    """The message's deliveries (and recipients): loaded by thread_messages, else queried."""
    if hasattr(message, "thread_deliveries"):
        return message.thread_deliveries
    return list(message.deliveries.select_related("recipient").order_by("id"))


def attachments_of(message: Message) -> list[Attachment]:
    """The message's attachments: loaded by thread_messages, else queried."""
    if hasattr(message, "thread_attachments"):
        return message.thread_attachments
    return list(message.attachments.all())


def own_delivery_in(user: User, message: Message, thread: list[Message]) -> Delivery | None:
    """own_delivery, from a thread that thread_messages loaded (no query when it's there)."""
    for m in thread:
        if m.pk == message.pk:
            return next((d for d in deliveries_of(m) if d.recipient_id == user.pk), None)
    return own_delivery(user, message)


# What a mailbox line shows, read as plain values: one row per delivery (building the
# delivery, message, sender and practice instances for 50 lines cost more than the query;
# neither the body nor the people's other columns are read).
class MailboxLine(NamedTuple):
    pk: int  # the delivery's
    sent_at: datetime  # the delivery's (the keyset's order)
    read_at: datetime | None
    message_id: uuid.UUID
    sender_id: int
    message_sent_at: datetime
    expires_at: datetime  # the message's
    wrapped_key: bytes
    subject_sealed: bytes
    sender_full_name: str
    sender_email: str
    sender_kind: str
    sender_practice: str | None  # the name of the sender's practice, if they have one


# Where each of MailboxLine's values comes from: (model, field), in its order.
_LINE_COLUMNS: list[tuple[type[Model], str]] = [
    (Delivery, "id"),
    (Delivery, "sent_at"),
    (Delivery, "read_at"),
    (Delivery, "message"),
    (Message, "sender"),
    (Message, "sent_at"),
    (Message, "expires_at"),
    (Message, "wrapped_key"),
    (Message, "subject_sealed"),
    (User, "full_name"),
    (User, "email"),
    (User, "kind"),
    (Practice, "name"),
]


def _received_rule(column: Callable[[str], str]) -> str:
    """The received half of the visibility rule (see visible_messages) on a delivery's
    columns (`column` names them): its recipient is the first parameter, not hidden, not
    expired by the second. The mailbox's folders and the unread badge ask it."""
    return (
        f"{column('recipient')} = %s AND {column('hidden_at')} IS NULL"
        f" AND {column('expires_at')} > %s"
    )


class ReceivedLines:
    """A folder of received messages (the inbox, or the archive), newest first by the
    delivery's (sent_at, id): MailboxLine rows, read by statements of constant text (a
    paging.Keyset). Building this query with the ORM took longer than running it
    (bench/served.py --profile inbox); the statement says what the queryset said:

        Delivery.objects.filter(recipient=user, hidden_at=None, archived_at__isnull=not
        archived, expires_at__gt=now).order_by("-sent_at", "-id"), its lines' columns
        joined (message, sender; the sender's practice left-joined).

    A page of it is one range scan of the folder's partial index (delivery_inbox or
    delivery_archive: the statement names their conditions), stopped after the page; the
    keyset bounds are written as paging._Ordered writes them."""

    def __init__(self, user: User, *, archived: bool) -> None:
        self.user = user
        self.archived = archived
        # When the folder is asked for, as a queryset's filter is.
        self.now = timezone.now()

    def rows(
        self,
        *,
        limit: int | None,
        older_than: tuple[datetime, str] | None = None,
        newer_than: tuple[datetime, str] | None = None,
    ) -> list[MailboxLine]:
        sql, params = self.statement(limit=limit, older_than=older_than, newer_than=newer_than)
        with connection.cursor() as cursor, kept_prepared():
            cursor.execute(sql, params)
            found = cursor.fetchall()
        converters = _line_converters(connection.vendor)
        if not converters:
            return [MailboxLine._make(row) for row in found]
        return [MailboxLine._make(converted(row, converters)) for row in found]

    def statement(
        self,
        *,
        limit: int | None,
        older_than: tuple[datetime, str] | None = None,
        newer_than: tuple[datetime, str] | None = None,
    ) -> tuple[str, list[Any]]:
        """The SQL and parameters rows() runs (bench/mailbox.py explains the first page's).
        ValueError or TypeError for a key whose id is not a delivery's (as the ORM)."""
        sent_at = Delivery._meta.get_field("sent_at")
        expires_at = Delivery._meta.get_field("expires_at")
        params: list[Any] = [self.user.pk, expires_at.get_db_prep_value(self.now, connection)]
        bound, tie = "", True
        key = newer_than if newer_than is not None else older_than
        if key is not None:
            newer = newer_than is not None
            moment, text = key
            pk = _delivery_id(text)
            # An id past the column's range, as the ORM takes it: past the last id, every
            # row of that instant is older (no tie to break); before the first, every one
            # is newer. Either way the same rows as the ORM's, without a value the driver
            # refuses (SQLite's are 64-bit).
            low, high = connection.ops.integer_field_range(Delivery._meta.pk.get_internal_type())
            if (pk > high and not newer) or (pk < low and newer):
                tie = False
            pk = min(max(pk, low), high)
            bound = "newer" if newer else "older"
            at = sent_at.get_db_prep_value(moment, connection)
            params += [at, at, pk] if tie else [at]
        if limit is not None:
            params.append(limit)
        sql = _line_sql(connection.vendor, self.archived, bound, tie, limit is not None)
        return sql, params

    def __iter__(self) -> Iterator[MailboxLine]:
        """Every line of the folder, newest first."""
        return iter(self.rows(limit=None))


def _delivery_id(text: str) -> int:
    value = Delivery._meta.pk.get_prep_value(text)
    assert isinstance(value, int)
    return value


@cache
def _line_converters(_vendor: str) -> Converters:
    fields = [model._meta.get_field(name) for model, name in _LINE_COLUMNS]
    assert all(isinstance(f, Field) for f in fields)  # columns, no reverse relations
    return converters_of([f for f in fields if isinstance(f, Field)])


@cache
def _line_sql(_vendor: str, archived: bool, bound: str, tie: bool, limited: bool) -> str:
    """ReceivedLines' statement: of the folder (`archived`), all of it or the rows older or
    newer (`bound`) than a key (with the tie on its instant broken by id, or not), at
    most a number of rows (`limited`) or all. Written once for each."""
    deliveries, messages = columns_of(Delivery), columns_of(Message)
    people, practices = columns_of(User), columns_of(Practice)
    line = ", ".join(columns_of(model).column(name) for model, name in _LINE_COLUMNS)
    d = deliveries.column
    where = _received_rule(d) + f" AND {d('archived_at')} IS {'NOT ' if archived else ''}NULL"
    order = "DESC"
    if bound == "older":
        where += f" AND {d('sent_at')} <= %s"
        if tie:
            where += f" AND NOT ({d('sent_at')} = %s AND {d('id')} >= %s)"
    elif bound == "newer":
        where += f" AND {d('sent_at')} >= %s"
        if tie:
            where += f" AND NOT ({d('sent_at')} = %s AND {d('id')} <= %s)"
        order = "ASC"
    return (
        f"SELECT {line} FROM {deliveries.table}"  # noqa: S608
        f" INNER JOIN {messages.table} ON {d('message')} = {messages.column('id')}"
        f" INNER JOIN {people.table} ON {messages.column('sender')} = {people.column('id')}"
        f" LEFT OUTER JOIN {practices.table}"
        f" ON {people.column('practice')} = {practices.column('id')}"
        f" WHERE {where} ORDER BY {d('sent_at')} {order}, {d('id')} {order}"
        + (" LIMIT %s" if limited else "")
    )


def inbox(user: User) -> ReceivedLines:
    """The user's inbox, newest first: MailboxLine rows."""
    return ReceivedLines(user, archived=False)


def archive(user: User) -> ReceivedLines:
    """The user's archive, newest first (rows as inbox's)."""
    return ReceivedLines(user, archived=True)


def sent(user: User) -> QuerySet[Message]:
    return (
        Message.objects.filter(sender=user, expires_at__gt=timezone.now())
        .prefetch_related("deliveries__recipient")
        .order_by("-sent_at", "-id")
    )


def unread_count(user: User) -> int:
    """Unread messages in the user's mailbox (the badge on every page): the received half
    of the visibility rule (see visible_messages), unread.

    The same WHERE as Delivery.objects.filter(recipient=user, read_at=None, hidden_at=None,
    expires_at__gt=now).count(), which answers from the delivery_unread partial index; as
    plain SQL, because building that queryset cost ten times the indexed count itself."""
    with connection.cursor() as cursor, kept_prepared():
        cursor.execute(
            unread_sql(), [user.pk, connection.ops.adapt_datetimefield_value(timezone.now())]
        )
        row = cursor.fetchone()
    return int(row[0])


def unread_sql() -> str:
    """unread_count's statement: its parameters the user's id and the moment."""
    return _unread_sql(connection.vendor)


@cache
def _unread_sql(_vendor: str) -> str:
    deliveries = columns_of(Delivery)
    return (
        f"SELECT COUNT(*) FROM {deliveries.table} WHERE {_received_rule(deliveries.column)}"  # noqa: S608
        f" AND {deliveries.column('read_at')} IS NULL"
    )


def access_attachment(message: Message, attachment_id: uuid.UUID) -> Attachment:
    """An attachment of a message the caller already got through access_message."""
    attachment = Attachment.objects.filter(message=message, pk=attachment_id).first()
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


def access_draft(user: User, draft_id: uuid.UUID | None) -> Draft | None:
    """The user's own draft, not expired; None for anything else."""
    if draft_id is None:
        return None
    return Draft.objects.filter(owner=user, pk=draft_id, expires_at__gt=timezone.now()).first()


@dataclass
class SlipRow:
    """What the sender may know about one recipient of one message."""

    recipient: User
    kind: str
    # When the notification was queued: shown only for deliveries older than `notice`.
    notified_at: datetime | None
    registered_at: datetime | None
    invited: bool
    opened_at: datetime | None
    replied_at: datetime | None
    downloads: dict[uuid.UUID, datetime] = field(default_factory=dict)
    # How the email telling them went (the new-message email, or for someone this message
    # invited, the welcome email of their invitation now): None for deliveries from before
    # the slip read it.
    notice: Notice | None = None
    # How the text telling them went (for someone who chose texts), if one was sent.
    text_notice: Notice | None = None
    # Told nothing, as they chose (notify me by: none).
    not_notified: bool = False
    # The viewer sent this recipient's open invitation, whose email did not arrive: they
    # may re-send it or correct the address (practices' inviter pages).
    may_fix_invitation: bool = False
    # Someone the viewer invited (by this message or another) and who had not registered
    # when it was sent: their onboarding timeline, and whether its reminders may be stopped.
    # Never for an invitation someone else sent.
    onboarding: list[Moment] | None = None
    may_stop_reminders: bool = False


def delivery_slips(user: User, thread: list[Message]) -> dict[uuid.UUID, list[SlipRow]]:
    """Delivery slips for the messages of `thread` that `user` sent, in a fixed number of
    queries whatever the thread's size."""
    mine = [m for m in thread if m.sender_id == user.pk]
    if not mine:
        return {}
    if all(hasattr(m, "thread_deliveries") for m in mine):
        # thread_messages loaded them, recipients included.
        deliveries = sorted((d for m in mine for d in m.thread_deliveries), key=lambda d: d.pk)
    else:
        deliveries = list(
            Delivery.objects.filter(message__in=mine).select_related("recipient").order_by("id")
        )
    recipient_ids = {d.recipient_id for d in deliveries}
    # Whoever sent the invitation: someone another sender invited is "not yet" registered
    # here too. The used invitation (at most one) wins over one still open.
    invitations: dict[int, Invitation] = {}
    # The onboarding timeline, though, only of the invitations the viewer sent.
    sent_by_viewer: dict[int, list[Invitation]] = {}
    # What doesn't depend on the invitations, with the check whether any is to load: one
    # round trip (core.rows.fetch_together).
    reads = NoticeReads(
        [d.notification_id for d in deliveries], [d.text_notification_id for d in deliveries]
    )
    onboarding = _onboarding_part(recipient_ids, min(m.sent_at for m in mine))
    downloads_part = _downloads_part(mine, recipient_ids)
    parts = [p for p in (onboarding, downloads_part) if p is not None] + reads.parts
    results = iter(fetch_together(parts)) if parts else iter([])
    may_be_onboarding = bool(next(results)) if onboarding is not None else False
    download_rows = next(results) if downloads_part is not None else []
    states, texts = reads.states(list(results))
    found: Iterable[Invitation] = []
    if may_be_onboarding:
        found = with_onboarding_progress(
            Invitation.objects.filter(invitee_id__in=recipient_ids).select_related(
                "invited_by__practice"
            )
        ).defer("wizard_data", "wrapped_key", "link_sealed")
    for inv in found:
        known = invitations.get(inv.invitee_id)
        if known is None or (inv.used_at and not known.used_at):
            invitations[inv.invitee_id] = inv
        if inv.invited_by_id == user.pk:
            sent_by_viewer.setdefault(inv.invitee_id, []).append(inv)
    own = [inv for invs in sent_by_viewer.values() for inv in invs]
    # Each recipient's email: the delivery's own, or for those this message invited (who
    # got no other), their invitation's welcome email.
    welcome = {inv.welcome_email_id for inv in [*invitations.values(), *own]} - set(states)
    if any(welcome):
        states |= notices(welcome)
    reminders = reminders_of(own)
    files = {a.pk: m.pk for m in mine for a in attachments_of(m)}
    downloads: dict[tuple[uuid.UUID, int], dict[uuid.UUID, datetime]] = {}
    for (record,) in download_rows:
        downloads.setdefault((files[record.attachment_id], record.user_id), {})[
            record.attachment_id
        ] = record.first_at
    slips: dict[uuid.UUID, list[SlipRow]] = {}
    for delivery in deliveries:
        invitation = invitations.get(delivery.recipient_id)
        if invitation and invitation.used_at and invitation.used_at <= delivery.sent_at:
            # Registered before this message was sent: already a user, for this slip.
            invitation = None
        shown = _onboarding_shown(sent_by_viewer.get(delivery.recipient_id, []), delivery)
        if delivery.notification_id is not None:
            notice = states.get(delivery.notification_id)
        elif invitation is not None and invitation.welcome_email_id is not None:
            notice = states.get(invitation.welcome_email_id)
        else:
            notice = None
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
                notice=notice,
                text_notice=texts.get(delivery.text_notification_id)
                if delivery.text_notification_id
                else None,
                not_notified=delivery.notified_at is None,
                may_fix_invitation=bool(
                    invitation is not None
                    and invitation.used_at is None
                    and invitation.invited_by_id == user.pk
                    and notice is not None
                    and notice.undelivered
                ),
                onboarding=None
                if shown is None
                else timeline(
                    shown,
                    notified_at=_delivered_at(states, shown.welcome_email_id),
                    reminders=reminders.get(shown.pk, []),
                    first_read_at=delivery.read_at,
                ),
                may_stop_reminders=shown is not None and reminders_pending(shown),
            )
        )
    return slips


# What a slip reads of a download record.
DOWNLOAD_FIELDS = ("attachment", "user", "first_at")


def _downloads_part(messages: list[Message], user_ids: set[int]) -> Part | None:
    """The first downloads by these users of the files of these messages (by the files
    thread_messages loaded: none, no part), a part of constant shape (core.rows)."""
    files = [a.pk for m in messages for a in attachments_of(m)]
    if not files or not user_ids:
        return None
    found = columns_of(AttachmentDownload, DOWNLOAD_FIELDS)
    file_key = Attachment._meta.pk
    return Part(
        [found],
        f"FROM {found.table} WHERE {found.column('attachment')}"
        f" IN ({', '.join(['%s'] * len(files))})"
        f" AND {found.column('user')} IN ({', '.join(['%s'] * len(user_ids))})",
        [file_key.get_db_prep_value(pk, connection) for pk in files] + sorted(user_ids),
        order=found.column("id"),
    )


def _onboarding_part(recipient_ids: set[int], first_sent_at: datetime) -> Part | None:
    """Whether any of these recipients has an invitation open, or used after the first of
    the slips' messages was sent (a row of this part). When none has (people who were
    users already: most slips), every invitation the slips could load counts for nothing
    (registered before the message), and this small read saves building the query that
    loads them with their progress (a fifth of a conversation page's time)."""
    if not recipient_ids:
        return None
    found = columns_of(Invitation, ("id",))
    return Part(
        [found],
        f"FROM {found.table} WHERE {found.column('invitee')} IN"
        f" ({', '.join(['%s'] * len(recipient_ids))})"
        f" AND ({found.column('used_at')} IS NULL OR {found.column('used_at')} > %s)",
        [*sorted(recipient_ids), connection.ops.adapt_datetimefield_value(first_sent_at)],
        order=found.column("id"),
    )


def _onboarding_shown(sent: list[Invitation], delivery: Delivery) -> Invitation | None:
    """Of the invitations of a delivery's recipient that the slip's viewer sent (`sent`),
    the one whose onboarding timeline the slip shows: the open one, else the newest used
    after the message was sent. None for someone already registered when it was sent, and
    for someone only another sender invited: how a person got on with another sender's
    invitation (when they opened it, verified, registered, the reminders) is not this
    sender's to see, nor their practice's (the slip is the inviter's)."""
    shown = [inv for inv in sent if inv.used_at is None or inv.used_at > delivery.sent_at]
    return min(
        shown, key=lambda inv: (inv.used_at is not None, -inv.created_at.timestamp()), default=None
    )


def _delivered_at(states: dict[uuid.UUID, Notice], email_id: uuid.UUID | None) -> datetime | None:
    """When an email reached the mail server (the timeline's "notified"), if it has."""
    notice = states.get(email_id) if email_id is not None else None
    return notice.at if notice is not None and notice.state == NoticeState.DELIVERED else None
