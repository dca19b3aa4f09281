"""Blobs no attachment references: a request's own uploads, deleted as soon as it is
answered, and those of requests that died before they were answered, swept by the worker.

A blob is written while the request's body is parsed, before the message exists; only an
Attachment row, written with the message, keeps it.
"""

import itertools
import logging
from collections.abc import Iterable
from datetime import timedelta

from django.utils import timezone

from securemail.core.blobs import blob_store
from securemail.messaging.models import Attachment

logger = logging.getLogger("securemail.messaging")
_BATCH = 500
# A blob is written to as its upload's bytes arrive, and referenced by its attachment a
# moment after the last one: no live request leaves one untouched and unreferenced for
# anywhere near this long (web workers time out within minutes).
ABANDONED_AFTER = timedelta(hours=1)


def _unreferenced(names: Iterable[str]) -> list[str]:
    names = list(names)
    kept = set(Attachment.objects.filter(blob_name__in=names).values_list("blob_name", flat=True))
    return [name for name in names if name not in kept]


def delete_unused_uploads(blob_names: list[str]) -> None:
    """Delete those of a request's uploaded blobs that no attachment references, once the
    request is answered (sent, refused, or failed). Called by the views that take files;
    a blob that can't be deleted now is left to the worker's sweep."""
    if not blob_names:
        return
    store = blob_store()
    for name in _unreferenced(blob_names):
        try:
            store.delete(name)
        except OSError:
            logger.exception("messaging: an unused upload could not be deleted")


def sweep_abandoned_uploads(*, prefix: str = "") -> int:
    """Delete the blobs (names starting with `prefix`) that no attachment references and
    nothing has written for ABANDONED_AFTER: uploads of requests that died before they were
    answered (a web worker killed mid-upload). Called by the worker; returns how many."""
    store = blob_store()
    old = store.written_before(timezone.now() - ABANDONED_AFTER, prefix=prefix)
    swept = 0
    for batch in itertools.batched(old, _BATCH):
        for name in _unreferenced(batch):
            store.delete(name)
            swept += 1
    if swept:
        logger.info("messaging: swept %d abandoned upload(s)", swept)
    return swept
