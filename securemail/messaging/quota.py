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
from typing import Any

from django.db.models import OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from securemail.accounts.models import User
from securemail.billing import entitlements
from securemail.core.text import human_size
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
    """What `user`'s files take and their quota, in one query (with the plan they hold, for
    a paid account)."""
    counted = (
        Attachment.objects.filter(sender=OuterRef("pk"), expires_at__gt=timezone.now())
        .values("sender")
        .annotate(total=Sum("size"))
        .values("total")
    )
    columns: dict[str, Any] = {"used": Coalesce(Subquery(counted), 0)}
    if entitlements.has_paid_plan(user):
        columns["held_plan"] = Subquery(entitlements.held_plan_code(OuterRef("pk")))
    row: dict[str, Any] = dict(User.objects.filter(pk=user.pk).values(**columns).get())
    return StorageUse(
        used=int(row["used"]), quota=entitlements.storage_quota_of(user, row.get("held_plan"))
    )


def over_quota_text(use: StorageUse, name: str | None = None) -> str:
    """Why a file (named) or the files of a message can't be kept."""
    what = f"“{name}” would" if name else "These files would"
    return (
        f"{what} pass your storage quota: {use.used_text} used of {use.quota_text}; "
        f"{use.left_text} left. Files you sent count until their messages are deleted or "
        "expire."
    )
