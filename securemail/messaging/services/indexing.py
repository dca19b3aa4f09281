"""The search index: written with every message sent (send, reply, forward; never drafts),
removed with it (delete, expiry: the rows cascade) or from one person's copy (hide), moved
with its expiry (the tokens of a day are keyed by that day), and rebuilt under a new keyring
version (`manage.py keys rewrap`) or for messages sent before the index existed.

Each participant has an index of their own: the subject, the body and the other people on
the message (names, addresses, practices), so a search finds a message by its
correspondent too (securemail.messaging.index says which terms and how they are keyed).
"""

import logging
import uuid
from collections.abc import Iterable
from datetime import date

from django.db import connection, transaction
from django.utils import timezone

from securemail.accounts.models import Practice, User
from securemail.core import crypto
from securemail.core.rows import kept_prepared
from securemail.messaging import index
from securemail.messaging.content import ContentUnavailable, expiry_day, open_content
from securemail.messaging.models import Delivery, Message, SearchEntry

logger = logging.getLogger("securemail.messaging")


def person_texts(person: User, practices: dict[int, str]) -> list[str]:
    """What finds a correspondent: their name, address and practice."""
    return [person.full_name, person.email, practices.get(person.practice_id or 0, "")]


def _practice_names(people: list[User]) -> dict[int, str]:
    """The practices' names: those loaded with the people (a send's are), the others in
    one query however many."""
    names: dict[int, str] = {}
    missing: set[int] = set()
    for person in people:
        if person.practice_id is None:
            continue
        if User.practice.is_cached(person):
            names[person.practice_id] = person.practice.name  # type: ignore[union-attr]
        else:
            missing.add(person.practice_id)
    missing -= set(names)
    if missing:
        names |= dict(Practice.objects.filter(pk__in=missing).values_list("pk", "name"))
    return names


def index_message(
    *,
    message: Message,
    subject: str,
    body: str,
    people: Iterable[User],
    owners: Iterable[int] | None = None,
) -> int:
    """Write the search entries of `message` for each of `people` (its sender and
    recipients; only those in `owners` when given), under the active keyring version and
    the key of the message's expiry day. Call in the transaction that stores the message.
    Returns the rows written."""
    everyone = list({p.pk: p for p in people}.values())
    wanted = set(owners) if owners is not None else {p.pk for p in everyone}
    day = expiry_day(message)
    subject_terms = index.terms([subject])
    # The body's words whole; the subject's and the people's with their starts (index.py).
    body_terms = index.terms([body], starts=False)
    practices = _practice_names(everyone)
    people_terms = {p.pk: index.terms(person_texts(p, practices)) for p in everyone}
    rows: list[tuple[int, int, int]] = []
    for owner in everyone:
        if owner.pk not in wanted:
            continue
        found: dict[str, None] = dict.fromkeys(subject_terms)
        for other in everyone:
            if other.pk != owner.pk:
                found.update(dict.fromkeys(people_terms[other.pk]))
        found.update(dict.fromkeys(body_terms))
        owner_id = owner.pk
        version, key = index.owner_day_key(owner_id, day)
        rows.extend(
            (owner_id, version, t) for t in index.tokens(key, list(found)[: index.MAX_TERMS])
        )
    # Each row once (two terms share a token only by a 64-bit collision, and then mean the
    # same), in the index's order: the B-tree takes them leaf after leaf, not at random
    # places (a third less of the database's time for a send's few hundred rows).
    rows = sorted(set(rows))
    _insert(message, day, rows)
    return len(rows)


def _insert(message: Message, day: date, rows: list[tuple[int, int, int]]) -> None:
    """INSERT the (owner, version, token) rows of one message in one statement whose text
    never changes: on PostgreSQL three arrays unnested (six parameters, however many rows:
    a statement with a placeholder per value cost psycopg more to parse than the database
    to run, and was never the same text twice), on SQLite one prepared statement run for
    each row (executemany). Plain SQL: a send writes a few hundred rows, and building as
    many model instances cost more than the database's work. `rows` are distinct and
    their message has no entries of these owners yet (index_message's callers: a new
    message, or reindex after deleting its entries): no ON CONFLICT, whose speculative
    insertion costs every row a second WAL record."""
    if not rows:
        return
    quote = connection.ops.quote_name
    meta = SearchEntry._meta
    fields = {f.name: f for f in meta.concrete_fields}
    names = ("owner", "key_version", "day", "token", "sent_at", "message")
    columns = ", ".join(quote(str(fields[n].column)) for n in names)
    head = f"INSERT INTO {quote(meta.db_table)} ({columns}) "
    day_value = connection.ops.adapt_datefield_value(day)
    sent = connection.ops.adapt_datetimefield_value(message.sent_at)
    message_key = fields["message"].get_db_prep_value(message.pk, connection)
    with connection.cursor() as cursor, kept_prepared():
        if connection.vendor == "postgresql":
            # Each array as its text form ("{1,2,3}"): psycopg's dump of a list of ints,
            # value by value, cost more than the statement.
            owners, versions, tokens = (
                "{" + ",".join(map(str, column)) + "}" for column in zip(*rows, strict=True)
            )
            cursor.execute(
                f"{head}SELECT o, v, %s::date, t, %s::timestamptz, %s::uuid FROM "  # noqa: S608
                "unnest(%s::bigint[], %s::smallint[], %s::bigint[]) AS r(o, v, t)",
                [day_value, sent, message_key, owners, versions, tokens],
            )
        else:
            cursor.executemany(
                f"{head}VALUES (%s, %s, %s, %s, %s, %s)",
                [
                    (owner_id, version, day_value, token, sent, message_key)
                    for owner_id, version, token in rows
                ],
            )


def unindex_for(*, owner: User, message: Message) -> None:
    """Remove `message` from `owner`'s index (their copy is hidden)."""
    SearchEntry.objects.filter(owner=owner, message=message).delete()


def _people_of(message: Message) -> list[User]:
    recipients = [
        d.recipient
        for d in Delivery.objects.filter(message=message).select_related("recipient").order_by("id")
    ]
    return [message.sender, *recipients]


def reindex(message: Message, *, owners: Iterable[int] | None = None) -> int:
    """Write `message`'s entries again under its current expiry day and the active keyring
    version, for the people whose index holds it (or `owners`). A message whose content
    can't be opened any more (its day key is shredded: it is expiring) loses its entries.
    Call holding the message's row lock (or in a transaction where it can't change)."""
    if owners is None:
        owners = set(SearchEntry.objects.filter(message=message).values_list("owner_id", flat=True))
    owners = set(owners)
    SearchEntry.objects.filter(message=message).delete()
    if not owners:
        return 0
    try:
        content = open_content(message)
    except ContentUnavailable:
        logger.warning("messaging: %s can't be indexed again (shredded or damaged)", message)
        return 0
    return index_message(
        message=message,
        subject=content.subject,
        body=content.body,
        people=_people_of(message),
        owners=owners,
    )


def reindex_older_versions(*, batch_size: int = 100) -> int:
    """Rebuild the entries written under a keyring version other than the active one (key
    rotation: `keys retire` waits for this), a batch of messages per transaction. Each
    message done loses its old entries (unreadable ones keep none). Returns the messages
    done."""
    active = crypto.keyring().active_version
    done = 0
    while True:
        with transaction.atomic():
            ids = list(
                SearchEntry.objects.exclude(key_version=active)
                .values_list("message_id", flat=True)
                .distinct()[:batch_size]
            )
            if not ids:
                return done
            for message in _locked(ids):
                reindex(message)
                done += 1


def index_unindexed(*, batch_size: int = 100) -> int:
    """Index the live messages no index holds yet (those sent before search existed): for
    their sender and every recipient who hasn't hidden them. Returns the messages indexed."""
    done = 0
    unreadable: set[uuid.UUID] = set()
    while True:
        with transaction.atomic():
            ids = list(
                Message.objects.filter(expires_at__gt=timezone.now())
                .exclude(pk__in=SearchEntry.objects.values("message_id"))
                .exclude(pk__in=unreadable)
                .order_by("pk")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                return done
            for message in _locked(ids):
                owners = {message.sender_id} | set(
                    Delivery.objects.filter(message=message, hidden_at=None).values_list(
                        "recipient_id", flat=True
                    )
                )
                if reindex(message, owners=owners):
                    done += 1
                else:
                    # Nothing to index (or it can't be opened: its expiry deletes it).
                    unreadable.add(message.pk)


def _locked(ids: list[uuid.UUID]) -> list[Message]:
    return list(
        Message.objects.select_for_update(of=("self",))
        .select_related("sender__practice")
        .filter(pk__in=ids)
    )
