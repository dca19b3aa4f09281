"""Keyset pagination for mailboxes: every page costs the same, the first or the 200th.

A cursor is "<sent_at in µs>~<id>" of the row at the page's edge; `before` walks to older
rows, `after` to newer ones. Unknown or malformed cursors fall back to the first page.

What is paged is a queryset ordered newest first by ("-sent_at", "-id"), or a `Keyset`: rows
read by statements of their own (the inbox's, access.ReceivedLines) on either side of a key.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from django.core.exceptions import ValidationError
from django.db.models import QuerySet


@dataclass
class KeysetPage[T]:
    """One page of rows: model instances, or named value rows with `sent_at` and `pk`."""

    items: list[T]
    older: str | None
    newer: str | None


def _encode(row: Any) -> str:
    return cursor_at(row.sent_at, row.pk)


def cursor_at(sent_at: datetime, pk: Any) -> str:
    """The cursor of the row sent at `sent_at` with primary key `pk`."""
    return f"{int(sent_at.timestamp() * 1_000_000)}~{pk}"


def parse_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    """(sent_at, primary key as text) of a cursor; None for a missing or malformed one."""
    return _decode(cursor)


def _decode(cursor: str | None) -> tuple[datetime, str] | None:
    if not cursor or "~" not in cursor:
        return None
    micros, _, pk = cursor.partition("~")
    try:
        moment = datetime.fromtimestamp(int(micros) / 1_000_000, tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return (moment, pk) if pk else None


Key = tuple[datetime, str]


class Keyset[T](Protocol):
    """Rows newest first by (sent_at, id), read on either side of a key (sent_at, id as the
    cursor gives it: text). A key whose id doesn't fit the rows' key type raises ValueError,
    TypeError or ValidationError, as the ORM does."""

    def rows(
        self, *, limit: int | None, older_than: Key | None = None, newer_than: Key | None = None
    ) -> list[T]:
        """At most `limit` rows (all with None): with `older_than`, the rows before that key
        newest first; with `newer_than`, the rows after it oldest first; else the newest."""
        ...


class _Ordered[T]:
    """A Keyset of a queryset ordered newest first by ("-sent_at", "-id").

    "Older than the key" is written `sent_at <= X AND NOT (sent_at = X AND id >= Y)`, not
    `sent_at < X OR (sent_at = X AND id < Y)`: the same rows, but the range on sent_at bounds
    the index scan, and PostgreSQL estimates it well, so it walks the index in order and
    stops after one page (with the OR it misjudged the rows and sorted every older one)."""

    def __init__(self, queryset: QuerySet[Any, T]) -> None:
        self.queryset = queryset

    def rows(
        self, *, limit: int | None, older_than: Key | None = None, newer_than: Key | None = None
    ) -> list[T]:
        queryset = self.queryset
        if newer_than is not None:
            moment, pk = newer_than
            queryset = (
                queryset.filter(sent_at__gte=moment)
                .exclude(sent_at=moment, pk__lte=pk)
                .order_by("sent_at", "id")
            )
        elif older_than is not None:
            moment, pk = older_than
            queryset = queryset.filter(sent_at__lte=moment).exclude(sent_at=moment, pk__gte=pk)
        return list(queryset if limit is None else queryset[:limit])


def keyset_page[T](
    rows: QuerySet[Any, T] | Keyset[T], *, before: str | None, after: str | None, size: int
) -> KeysetPage[T]:
    """One page of `rows`: a queryset ordered newest first by ("-sent_at", "-id"), or a
    Keyset. `after` wins over `before`; a cursor that can't be read, or whose id doesn't fit
    the rows' key type, gives the first page."""
    source: Keyset[T] = _Ordered(rows) if isinstance(rows, QuerySet) else rows
    after_key = _decode(after)
    before_key = _decode(before) if after_key is None else None
    try:
        if after_key is not None:
            items = source.rows(limit=size + 1, newer_than=after_key)
            has_more_newer = len(items) > size
            items = items[:size][::-1]
            return KeysetPage(
                items=items,
                older=_encode(items[-1]) if items else None,
                newer=_encode(items[0]) if items and has_more_newer else None,
            )
        items = source.rows(limit=size + 1, older_than=before_key)
    except (ValueError, TypeError, ValidationError):
        # A cursor whose id doesn't fit the table's key type: start over.
        items = source.rows(limit=size + 1)
        before_key = None
    has_more_older = len(items) > size
    items = items[:size]
    return KeysetPage(
        items=items,
        older=_encode(items[-1]) if items and has_more_older else None,
        newer=_encode(items[0]) if items and before_key is not None else None,
    )
