"""The storage quota: what a person's files take, and how much they may keep.

What counts: the attachments of the messages a person sent that still exist (not expired,
not deleted for everyone), forwarded files included (a forward stores them again, for the
forwarder). Drafts keep no files (they are attached when sending), so they take nothing.
How much: billing.entitlements.storage_quota (the plan rule). Deleting a message for
everyone, or its expiry, frees its files' space at once (the sum skips what has expired
before the worker removes it).

The sum reads one index (`attachment_storage`: sender, expiry, size), so the navigation
shows it on every page for one query, made only when a page draws it. Refusals happen
twice: the upload handler refuses a file as it streams in (uploads.py), and the service that
stores the files checks again under a lock on the sender's row (services.common), so two
uploads at once can't both pass the last bytes.
"""

from dataclasses import dataclass
from functools import lru_cache

from django.db import connection
from django.utils import timezone

from securemail.accounts.models import User
from securemail.billing import entitlements
from securemail.core.rows import kept_prepared
from securemail.core.text import human_size
from securemail.messaging.access import unread_sql
from securemail.messaging.models import Attachment


@dataclass(frozen=True)
class StorageUse:
    """Bytes a person's files take, and the most they may keep."""

    used: int
    quota: int

    @property
    def left(self) -> int:
        return max(self.quota - self.used, 0)

    @property
    def used_text(self) -> str:
        return human_size(self.used)

    @property
    def quota_text(self) -> str:
        return human_size(self.quota)

    @property
    def left_text(self) -> str:
        return human_size(self.left)

    @property
    def meter_value(self) -> int:
        """What the meter shows: the use, at most full."""
        return min(self.used, self.quota)


def storage_use(user: User) -> StorageUse:
    """What `user`'s files take and their quota, in one statement (with the plan they hold,
    for a paid account). Constant text, as the unread badge's: the ORM took ten times as
    long to build it as the database to answer it from the index."""
    return _figures(user, unread=False)[0]


def storage_and_unread(user: User) -> tuple[StorageUse, int]:
    """storage_use(user) and access.unread_count(user) in the same one statement: the menu
    of every page shows both."""
    use, unread = _figures(user, unread=True)
    return use, int(unread or 0)


def _figures(user: User, *, unread: bool) -> tuple[StorageUse, int | None]:
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    columns, params = [_used_sql()], [user.pk, now]
    if unread:
        columns.append(f"({unread_sql()})")
        params += [user.pk, now]
    paid = entitlements.has_paid_plan(user)
    if paid:
        columns.append(entitlements.held_plan_sql())
        params.append(user.pk)
    with connection.cursor() as cursor, kept_prepared():
        cursor.execute(f"SELECT {', '.join(columns)}", params)
        row = list(cursor.fetchone())
    held = row.pop() if paid else None
    count = row.pop() if unread else None
    return StorageUse(used=int(row[0]), quota=entitlements.storage_quota_of(user, held)), count


@lru_cache(maxsize=1)
def _used_sql() -> str:
    """A scalar subquery, constant text: the bytes of the files of the sender (its first
    parameter) that have not expired by the moment (its second), from an index-only scan of
    `attachment_storage`."""
    quote = connection.ops.quote_name
    columns = {f.name: quote(str(f.column)) for f in Attachment._meta.concrete_fields}
    return (
        f"(SELECT COALESCE(SUM({columns['size']}), 0)"  # noqa: S608
        f" FROM {quote(Attachment._meta.db_table)}"
        f" WHERE {columns['sender']} = %s AND {columns['expires_at']} > %s)"
    )


def over_quota_text(use: StorageUse, name: str | None = None) -> str:
    """Why a file (named) or the files of a message can't be kept."""
    what = f"“{name}” would" if name else "These files would"
    return (
        f"{what} pass your storage quota: {use.used_text} used of {use.quota_text}; "
        f"{use.left_text} left. Files you sent count until their messages are deleted or "
        "expire."
    )
