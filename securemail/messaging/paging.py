"""Keyset pagination for mailboxes: every page costs the same, the first or the 200th.

A cursor is "<sent_at in µs>~<id>" of the row at the page's edge; `before` walks to older
rows, `after` to newer ones. Unknown or malformed cursors fall back to the first page.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

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


def keyset_page[T](
    queryset: QuerySet[Any, T], *, before: str | None, after: str | None, size: int
) -> KeysetPage[T]:
    """`queryset` must be ordered newest first by ("-sent_at", "-id").

    "Older than the cursor" is written `sent_at <= X AND NOT (sent_at = X AND id >= Y)`, not
    `sent_at < X OR (sent_at = X AND id < Y)`: the same rows, but the range on sent_at bounds
    the index scan, and PostgreSQL estimates it well, so it walks the index in order and
    stops after one page (with the OR it misjudged the rows and sorted every older one)."""
    after_key = _decode(after)
    before_key = _decode(before) if after_key is None else None
    try:
        if after_key is not None:
            moment, pk = after_key
            rows = list(
                queryset.filter(sent_at__gte=moment)
                .exclude(sent_at=moment, pk__lte=pk)
                .order_by("sent_at", "id")[: size + 1]
            )
            has_more_newer = len(rows) > size
            rows = rows[:size][::-1]
            return KeysetPage(
                items=rows,
                older=_encode(rows[-1]) if rows else None,
                newer=_encode(rows[0]) if rows and has_more_newer else None,
            )
        if before_key is not None:
            moment, pk = before_key
            queryset = queryset.filter(sent_at__lte=moment).exclude(sent_at=moment, pk__gte=pk)
        rows = list(queryset[: size + 1])
    except (ValueError, TypeError, ValidationError):
        # A cursor whose id doesn't fit the table's key type: start over.
        rows = list(queryset[: size + 1])
        before_key = None
    has_more_older = len(rows) > size
    rows = rows[:size]
    return KeysetPage(
        items=rows,
        older=_encode(rows[-1]) if rows and has_more_older else None,
        newer=_encode(rows[0]) if rows and before_key is not None else None,
    )
