"""Where encrypted blobs (attachment ciphertext) live, behind a small interface.

The local store keeps files under MEDIA_ROOT; an S3-compatible store implements the same
four methods. Stores only ever see ciphertext.
"""

import functools
import os
import re
from pathlib import Path
from typing import BinaryIO, Protocol

from django.conf import settings

_NAME = re.compile(r"^[0-9a-f]{32}$")


class BlobStore(Protocol):
    def open_write(self, name: str) -> BinaryIO: ...

    def open_read(self, name: str) -> BinaryIO: ...

    def delete(self, name: str) -> None: ...

    def size(self, name: str) -> int: ...


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


@functools.cache
def blob_store() -> BlobStore:
    return LocalBlobStore(Path(settings.MEDIA_ROOT) / "blobs")
