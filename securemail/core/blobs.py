"""Where encrypted blobs (attachment ciphertext) live, behind a small interface.

The local store keeps files under MEDIA_ROOT; an S3-compatible store implements the same
five methods (`written_before` is a listing by prefix with each object's LastModified).
Stores only ever see ciphertext.
"""

import functools
import os
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Protocol

from django.conf import settings

_NAME = re.compile(r"^[0-9a-f]{32}$")


class BlobStore(Protocol):
    def open_write(self, name: str) -> BinaryIO: ...

    def open_read(self, name: str) -> BinaryIO: ...

    def delete(self, name: str) -> None: ...

    def size(self, name: str) -> int: ...

    def written_before(self, moment: datetime, *, prefix: str = "") -> Iterator[str]:
        """The names starting with `prefix` of the blobs last written before `moment`."""
        ...


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, name: str) -> Path:
        if not _NAME.match(name):
            raise ValueError("Bad blob name.")
        return self.root / name[:2] / name

    def open_write(self, name: str) -> BinaryIO:
        path = self._path(name)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        return os.fdopen(fd, "wb")

    def open_read(self, name: str) -> BinaryIO:
        return self._path(name).open("rb")

    def delete(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)

    def size(self, name: str) -> int:
        return self._path(name).stat().st_size

    def written_before(self, moment: datetime, *, prefix: str = "") -> Iterator[str]:
        cutoff = moment.timestamp()
        if not self.root.is_dir():
            return
        folders = sorted(
            entry.path
            for entry in os.scandir(self.root)
            if entry.is_dir() and len(entry.name) == 2 and entry.name.startswith(prefix[:2])
        )
        for folder in folders:
            # Listed before anything is yielded: the caller may delete as it goes.
            with os.scandir(folder) as entries:
                names = [
                    (entry.name, entry)
                    for entry in entries
                    if _NAME.match(entry.name) and entry.name.startswith(prefix)
                ]
            for name, entry in names:
                try:
                    written = entry.stat().st_mtime
                except FileNotFoundError:
                    continue
                if written < cutoff:
                    yield name


@functools.cache
def blob_store() -> BlobStore:
    return LocalBlobStore(Path(settings.MEDIA_ROOT) / "blobs")
