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

from django.core.exceptions import ValidationError
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

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


def query_tokens(user: User, words: Sequence[str]) -> dict[tuple[date, int], list[int]]:
    """Each query word's token, for every (day, key version) the person's entries can be
    under. Days whose key is shredded (nothing of theirs is live there) are left out."""
    groups: dict[tuple[date, int], list[int]] = {}
    for version in sorted(crypto.keyring().store.versions()):
        for day in live_days():
            try:
                _, key = index.owner_day_key(user.pk, day, version)
            except crypto.DecryptionError:
                continue
            groups[day, version] = [index.token(key, w) for w in words]
    return groups


def _matching(user: User, groups: dict[tuple[date, int], list[int]]) -> QuerySet[SearchEntry]:
    pairs = Q()
    for (day, version), tokens in groups.items():
        pairs |= Q(day=day, key_version=version, token__in=tokens)
    return SearchEntry.objects.filter(pairs, owner=user)


def _candidates(
    user: User,
    groups: dict[tuple[date, int], list[int]],
    words: int,
    cursor: tuple[datetime, str] | None,
    limit: int,
) -> list[tuple[uuid.UUID, datetime]]:
    """(message id, sent at) of the person's messages holding every word, newest first,
    older than `cursor`."""
    entries = _matching(user, groups)
    if cursor is not None:
        moment, pk = cursor
        entries = entries.filter(sent_at__lte=moment).exclude(sent_at=moment, message_id__gte=pk)
    if words == 1:
        # One token per message and word (its entries share one day and version).
        rows = entries.order_by("-sent_at", "-message_id").values_list("message_id", "sent_at")
        return list(rows[:limit])
    grouped = (
        entries.values("message_id")
        .annotate(found=Count("token"), at=Max("sent_at"))
        .filter(found=words)
        .order_by("-at", "-message_id")
        .values_list("message_id", "at")
    )
    return list(grouped[:limit])


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
    cursor = parse_cursor(before)
    hits: list[Hit] = []
    for _ in range(MAX_ROUNDS):
        need = size - len(hits)
        try:
            rows = _candidates(user, groups, len(words), cursor, need + 1)
        except ValidationError:
            # A cursor whose id isn't a message id: start over.
            cursor = None
            rows = _candidates(user, groups, len(words), None, need + 1)
        more = len(rows) > need
        rows = rows[:need]
        hits.extend(_hits(user, [pk for pk, _ in rows]))
        if not more:
            return Results(hits=hits, older=None)
        cursor = (rows[-1][1], str(rows[-1][0]))
        if len(hits) >= size:
            break
    return Results(hits=hits, older=cursor_at(*cursor) if cursor else None)
