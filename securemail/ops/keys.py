"""Key rotation: re-wrap every stored data key under the active key-encryption key, in
small batches while the site keeps serving, then retire the old version.

Only wrapped data keys change; the data keys themselves (and so every ciphertext) stay the
same, so a reader holding either the old or the new wrapping succeeds throughout.
"""

import logging
from collections.abc import Iterator
from typing import Any

from django.apps import apps
from django.db import models, transaction

from securemail.core import crypto
from securemail.core.sealing import SealedRow
from securemail.messaging.models import SearchEntry
from securemail.messaging.services import indexing

logger = logging.getLogger(__name__)


def sealed_tables() -> list[type[models.Model]]:
    """Every model that stores a wrapped data key: each states its own key context
    (SealedRow), so rotation re-wraps with exactly the context its rows were sealed with."""
    return [
        model
        for model in apps.get_models()
        if issubclass(model, SealedRow) and not model._meta.abstract
    ]


def count_by_version(*, with_index: bool = True) -> dict[int, int]:
    """Data keys per keyring version, and (`with_index`) the search index's messages per
    version (its tokens are keyed from a version too: retiring it would make them match
    nothing)."""
    counts: dict[int, int] = {}
    for model in sealed_tables():
        rows = (
            model.objects.filter(key_version__isnull=False)  # type: ignore[attr-defined]
            .values("key_version")
            .annotate(n=models.Count("pk"))
        )
        for row in rows:
            counts[row["key_version"]] = counts.get(row["key_version"], 0) + row["n"]
    for version, n in indexed_by_version().items() if with_index else ():
        counts[version] = counts.get(version, 0) + n
    return counts


def indexed_by_version() -> dict[int, int]:
    """How many messages' search entries each keyring version keys."""
    rows = (
        SearchEntry.objects.values("key_version")
        .annotate(n=models.Count("message_id", distinct=True))
        .order_by()
    )
    return {row["key_version"]: row["n"] for row in rows}


def _rewrap_batch(model: type[Any], active: int, size: int, skip: set[Any]) -> int:
    manager = model.objects
    with transaction.atomic():
        rows = list(
            manager.select_for_update(skip_locked=True)
            .filter(key_version__isnull=False)
            .exclude(key_version=active)
            .exclude(pk__in=skip)
            .only("pk", "wrapped_key", "key_version", *model.key_context_fields)[:size]
        )
        changed = []
        for row in rows:
            try:
                row.wrapped_key = crypto.rewrap_data_key(row.wrapped_key, context=row.key_context())
            except crypto.DecryptionError:
                # Its day key is already shredded (the expiry job deletes it), or the row was
                # altered: leave it, and say so (ids only).
                logger.warning("keys: %s could not be re-wrapped (shredded or damaged)", row)
                skip.add(row.pk)
                continue
            row.key_version = active
            changed.append(row)
        manager.bulk_update(changed, ["wrapped_key", "key_version"])
    return len(rows)


def rewrap_all(*, batch_size: int = 500) -> Iterator[tuple[str, int]]:
    """Re-wrap every data key not under the active version, then rebuild the search entries
    keyed from an older version (their tokens can't be re-wrapped: each message is opened
    and indexed again). Yields (table, rows or messages done)."""
    active = crypto.keyring().active_version
    for model in sealed_tables():
        skip: set[Any] = set()
        done = 0
        while True:
            n = _rewrap_batch(model, active, batch_size, skip)
            if n == 0:
                break
            done += n
            yield model._meta.label, done
    reindexed = indexing.reindex_older_versions(batch_size=max(1, batch_size // 5))
    if reindexed:
        yield SearchEntry._meta.label, reindexed


def retire(version: int) -> None:
    """Remove a key version from the keyring once no stored data key uses it."""
    # The active version first: "re-wrap first" would be wrong advice for it.
    if version == crypto.keyring().active_version:
        raise ValueError("The active version can't be retired.")
    in_use = count_by_version().get(version, 0)
    if in_use:
        raise ValueError(f"{in_use} data keys still use version {version}: re-wrap first.")
    crypto.keyring().store.remove_version(version)
