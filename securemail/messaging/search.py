"""Searching one's own mailbox (Inbox, Archive and Sent; not drafts) through the keyed
index: the only way to search, and it answers only with messages the visibility rule
(access.visible_messages) lets the person see.

The database can't compare words it can't read, so the search computes the tokens itself:
for each day a message of the person's can still expire on (today to the longest expiry
ahead) and each key version of the keyring, each query word's token under that person's key
of that day (securemail.messaging.index). One query looks every (day, version, token) up in
the person's entries, keeps the messages holding all the words, newest first, a page at a
time by keyset; then the visibility rule decides which of them the person may see.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from django.db import connection
from django.db.models import Exists, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from securemail.accounts.models import User
from securemail.core import crypto
from securemail.core.limits import limits
from securemail.messaging import access, index
from securemail.messaging.models import Delivery, Message, SearchEntry
from securemail.messaging.paging import cursor_at, parse_cursor

PAGE_SIZE = 50
# Pages of candidates read to fill one page of results when some aren't visible (expired
# a moment ago, waiting for the expiry job): then the page is shorter, with "Older".
MAX_ROUNDS = 4


@dataclass(frozen=True)
class Hit:
    message: Message
    # The searcher's mailbox entry (Inbox or Archive), None for a message they sent.
    delivery: Delivery | None
    # Everyone it went to (loaded for the messages the searcher sent).
    recipients: list[Delivery]


@dataclass(frozen=True)
class Results:
    hits: list[Hit]
    # The cursor of the next (older) page, None on the last one.
    older: str | None


def live_days(now: datetime | None = None) -> list[date]:
    """The UTC days a live message can expire on: today up to the longest expiry ahead
    (and one more for a day boundary between sending and now)."""
    today = (now or timezone.now()).astimezone(UTC).date()
    return [today + timedelta(days=n) for n in range(limits().max_expiry_days + 2)]


def versions_in_use(user: User) -> list[int]:
    """The keyring versions the person's entries are keyed from: the keyring's only one, or,
    while a rotation rebuilds the index, those that still key some of theirs (a probe of the
    primary key's start each)."""
    versions = sorted(crypto.keyring().store.versions())
    if len(versions) == 1:
        return versions
    # One query: a column per version, each an EXISTS on the start of the primary key.
    probes = {
        f"v{v}": Exists(SearchEntry.objects.filter(owner=user, key_version=v)) for v in versions
    }
    found = User.objects.filter(pk=user.pk).values(**probes).first() or {}
    return [v for v in versions if found.get(f"v{v}")]


def query_tokens(user: User, words: Sequence[str]) -> dict[tuple[date, int], list[int]]:
    """Each query word's token, for every (day, key version) the person's entries can be
    under. Days whose key is shredded (nothing of theirs is live there) are left out."""
    groups: dict[tuple[date, int], list[int]] = {}
    for version in versions_in_use(user):
        for day in live_days():
            try:
                _, key = index.owner_day_key(user.pk, day, version)
            except crypto.DecryptionError:
                continue
            groups[day, version] = [index.token(key, w) for w in words]
    return groups


@lru_cache(maxsize=1)
def _names() -> dict[str, str]:
    """The entries table's quoted name and columns, as the model states them."""
    quote = connection.ops.quote_name
    meta = SearchEntry._meta
    names = {f.name: quote(str(f.column)) for f in meta.concrete_fields}
    return {"table": quote(meta.db_table), **names}


def _branch(number: int, words: int, limit: int, cursor: bool) -> str:
    """The entries of one (day, version) holding one of the words' tokens (newer than the
    cursor's row). With one word, its newest `limit` rows: the index gives them in order."""
    n = _names()
    where = (
        f"{n['owner']} = %s AND {n['key_version']} = %s AND {n['day']} = %s"
        f" AND {n['token']} IN ({', '.join(['%s'] * words)})"
    )
    if cursor:
        # As in paging.py: the range on sent_at bounds the index scan.
        where += f" AND {n['sent_at']} <= %s AND NOT ({n['sent_at']} = %s AND {n['message']} >= %s)"
    select = f"SELECT {n['message']}, {n['sent_at']} FROM {n['table']} WHERE {where}"  # noqa: S608
    if words > 1:
        return select
    order = f"{n['sent_at']} DESC, {n['message']} DESC"
    return f"SELECT * FROM ({select} ORDER BY {order} LIMIT {int(limit)}) AS b{number}"  # noqa: S608


def _candidates(
    user: User,
    groups: dict[tuple[date, int], list[int]],
    words: int,
    cursor: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[tuple[uuid.UUID, datetime]]:
    """(message id, sent at) of the person's messages holding every word, newest first,
    older than `cursor`: one statement, a branch per (day, version) looking its tokens up
    in the entries' primary key (an index-only scan each; PostgreSQL merges the branches
    in order), all words counted per message."""
    n = _names()
    ops = connection.ops
    branches: list[str] = []
    params: list[Any] = []
    for i, ((day, version), tokens) in enumerate(groups.items()):
        branches.append(_branch(i, words, limit, cursor is not None))
        params += [user.pk, version, ops.adapt_datefield_value(day), *tokens]
        if cursor is not None:
            moment = ops.adapt_datetimefield_value(cursor[0])
            params += [moment, moment, _message_key(cursor[1])]
    union = " UNION ALL ".join(branches)
    if words == 1:
        sql = (
            f"SELECT {n['message']}, {n['sent_at']} FROM ({union}) AS found"  # noqa: S608
            f" ORDER BY {n['sent_at']} DESC, {n['message']} DESC LIMIT {int(limit)}"
        )
    else:
        # A message's entries share one day and version, and hold each term once: it has
        # every word when it has as many matching entries as there are words.
        sql = (
            f"SELECT {n['message']}, MAX({n['sent_at']}) AS at FROM ({union}) AS found"  # noqa: S608
            f" GROUP BY {n['message']} HAVING COUNT(*) = %s"
            f" ORDER BY at DESC, {n['message']} DESC LIMIT {int(limit)}"
        )
        params.append(words)
    # Never kept prepared (core.rows.kept_prepared): its best plan depends on the owner,
    # the days and the tokens.
    with connection.cursor() as db:
        db.execute(sql, params)
        return [(_message_id(pk), _moment(at)) for pk, at in db.fetchall()]


def _message_key(pk: uuid.UUID) -> Any:
    return SearchEntry._meta.get_field("message").get_db_prep_value(pk, connection)


def _message_id(value: object) -> uuid.UUID:
    # PostgreSQL answers a UUID, SQLite its hex.
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _moment(value: object) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = parse_datetime(str(value))
    if parsed is None:
        raise ValueError(f"not a time: {value!r}")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _hits(user: User, ids: list[uuid.UUID]) -> list[Hit]:
    """The visible ones of these messages (the visibility rule), in the order given."""
    if not ids:
        return []
    messages = {
        m.pk: m
        for m in access.visible_messages(user).select_related("sender__practice").filter(pk__in=ids)
    }
    sent = [pk for pk, m in messages.items() if m.sender_id == user.pk]
    own: dict[uuid.UUID, Delivery] = {}
    recipients: dict[uuid.UUID, list[Delivery]] = {pk: [] for pk in sent}
    for d in (
        Delivery.objects.filter(message_id__in=list(messages))
        .filter(Q(recipient=user) | Q(message_id__in=sent))
        .select_related("recipient")
        .order_by("id")
    ):
        if d.recipient_id == user.pk:
            own[d.message_id] = d
        if d.message_id in recipients:
            recipients[d.message_id].append(d)
    return [
        Hit(message=messages[pk], delivery=own.get(pk), recipients=recipients.get(pk, []))
        for pk in ids
        if pk in messages
    ]


def search_mailbox(
    user: User, words: Sequence[str], *, before: str | None = None, size: int = PAGE_SIZE
) -> Results:
    """The person's visible messages holding every one of `words` (folded, as
    index.words gives them) in their subject, body or correspondents, newest first; a page
    of `size` after the cursor `before`. For any logged-in person; reads only."""
    words = list(dict.fromkeys(words))
    if not words:
        return Results(hits=[], older=None)
    groups = query_tokens(user, words)
    if not groups:
        return Results(hits=[], older=None)
    cursor = _cursor(before)
    hits: list[Hit] = []
    for _ in range(MAX_ROUNDS):
        need = size - len(hits)
        rows = _candidates(user, groups, len(words), cursor, need + 1)
        more = len(rows) > need
        rows = rows[:need]
        hits.extend(_hits(user, [pk for pk, _ in rows]))
        if not more:
            return Results(hits=hits, older=None)
        cursor = (rows[-1][1], rows[-1][0])
        if len(hits) >= size:
            break
    return Results(hits=hits, older=cursor_at(*cursor) if cursor else None)


def _cursor(before: str | None) -> tuple[datetime, uuid.UUID] | None:
    """The "Older" button's cursor; None (the first page) for one that isn't a cursor."""
    parsed = parse_cursor(before)
    if parsed is None:
        return None
    try:
        return parsed[0], uuid.UUID(parsed[1])
    except ValueError:
        return None
