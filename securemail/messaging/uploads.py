"""Attachments are encrypted while they stream in: no plaintext byte reaches the disk.

`EncryptingUploadHandler` replaces Django's memory/temporary-file handlers for the compose
and reply forms. Each file gets a fresh data key (kept in memory until the message is
stored, then wrapped under the keyring and the message's expiry day).
"""

import re
import unicodedata
import uuid
from typing import Any, override

import puremagic
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http import HttpRequest

from securemail.core import crypto
from securemail.core.blobs import blob_store
from securemail.core.stream import StreamEncryptor
from securemail.messaging.models import Attachment

UPLOAD_FIELD = "attachments"
_UNSAFE = re.compile(r"[\x00-\x1f\x7f<>:\"/\\|?*]+")


def clean_filename(raw: str) -> str:
    """A file name safe to store and to offer back: no path, no control characters."""
    name = unicodedata.normalize("NFC", raw).replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", name).strip(" .")
    return (name or "attachment")[:180]


def sniff_content_type(head: bytes) -> str:
    if not head:
        return "application/octet-stream"
    try:
        mime = puremagic.from_string(head, mime=True)
    except (puremagic.PureError, ValueError):
        mime = ""
    if mime:
        return str(mime)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return "application/octet-stream"
    return "text/plain"


class EncryptedUpload(UploadedFile):
    """What the view gets instead of a file: a sealed blob and its in-memory data key."""

    def __init__(
        self, *, blob_name: str, data_key: bytes, name: str, size: int, content_type: str
    ) -> None:
        super().__init__(file=None, name=name, content_type=content_type, size=size)
        self.blob_name = blob_name
        self.data_key = data_key

    def discard(self) -> None:
        blob_store().delete(self.blob_name)


class EncryptingUploadHandler(FileUploadHandler):
    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.max_file = settings.SECUREMAIL_MAX_ATTACHMENT_BYTES
        self.rejected: list[str] = []
        self.uploads: list[EncryptedUpload] = []

    def new_file(self, field_name: str, file_name: str, *args: Any, **kwargs: Any) -> None:
        super().new_file(field_name, file_name, *args, **kwargs)
        if field_name != UPLOAD_FIELD:
            raise SkipFile
        self.blob_name = uuid.uuid4().hex
        self.data_key = crypto.new_data_key()
        self.head = b""
        self.skipping = False
        self.out = blob_store().open_write(self.blob_name)
        self.encryptor = StreamEncryptor(
            self.data_key, context=Attachment.blob_context(self.blob_name)
        )

    @override
    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        if self.skipping:
            return None
        if len(self.head) < 4096:
            self.head += raw_data[: 4096 - len(self.head)]
        if self.encryptor.plaintext_size + len(raw_data) > self.max_file:
            self._abandon()
            self.rejected.append(clean_filename(self.file_name or ""))
            return None
        self.out.write(self.encryptor.update(raw_data))
        return None

    def _abandon(self) -> None:
        self.skipping = True
        self.out.close()
        blob_store().delete(self.blob_name)

    @override
    def file_complete(self, file_size: int) -> UploadedFile | None:
        if self.skipping:
            return None
        self.out.write(self.encryptor.finalize())
        self.out.close()
        upload = EncryptedUpload(
            blob_name=self.blob_name,
            data_key=self.data_key,
            name=clean_filename(self.file_name or ""),
            size=self.encryptor.plaintext_size,
            content_type=sniff_content_type(self.head),
        )
        self.uploads.append(upload)
        return upload

    def upload_interrupted(self) -> None:
        if hasattr(self, "out") and not self.skipping:
            self._abandon()
        for upload in self.uploads:
            upload.discard()
