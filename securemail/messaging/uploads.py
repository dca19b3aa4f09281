"""Attachments are encrypted while they stream in: no plaintext byte reaches the disk.

`EncryptingUploadHandler` replaces Django's memory/temporary-file handlers for the compose
and reply forms. Each file gets a fresh data key (kept in memory until the message is
stored, then wrapped under the keyring and the message's expiry day).

The handler writes while Django parses the body, which happens only once the request has
passed every check that needs no body (login, plan, access, CSRF's origin and cookie):
`views.common.receiving_files` installs it and, however the request ends, deletes every
blob it wrote that no attachment references.
"""

import re
import unicodedata
import uuid
from collections.abc import Callable
from typing import Any, BinaryIO, override

import puremagic
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http import HttpRequest

from securemail.core import crypto
from securemail.core.blobs import blob_store
from securemail.core.limits import limits
from securemail.core.stream import StreamEncryptor
from securemail.messaging.models import Attachment
from securemail.messaging.quota import StorageUse, over_quota_text

UPLOAD_FIELD = "attachments"
_UNSAFE = re.compile(r"[\x00-\x1f\x7f<>:\"/\\|?*]+")


def clean_filename(raw: str) -> str:
    """A file name safe to store and to offer back: no path, no control characters."""
    name = unicodedata.normalize("NFC", raw).replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", name).strip(" .")
    return (name or "attachment")[:180]


def sniff_content_type(head: bytes) -> str:
    """What the first bytes say the file is (never what the uploader claimed)."""
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


# The types a browser only ever shows as they are: never runs, never renders with scripts,
# never styles a page with. A download keeps its sniffed type only if it is one of these;
# anything else (HTML, SVG, XML with its XSLT, JavaScript, CSS, Flash, PostScript, mail and
# MHTML, and whatever type is not listed) goes out as application/octet-stream, so that no
# page, ours or another site's pointing at our URL, can load it as a document, a script or
# a style sheet. (Downloads are attachments with nosniff and a sandbox besides.)
PASSIVE_TYPES = frozenset(
    {
        "text/plain",
        "application/pdf",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/bmp",
        "image/tiff",
        "image/heic",
        "image/heif",
        "image/avif",
        "audio/mpeg",
        "audio/wav",
        "audio/x-wav",
        "audio/ogg",
        "video/mp4",
        "video/quicktime",
        "video/webm",
    }
)
# A passive type under an active name (a script whose text sniffs as plain text) is sent as
# bytes too: the name can only make a download more cautious, never less.
ACTIVE_EXTENSIONS = frozenset(
    {
        "htm", "html", "shtml", "xht", "xhtml", "mht", "mhtml", "svg", "svgz", "xml", "xsl",
        "xslt", "js", "mjs", "cjs", "css", "swf", "hta", "php", "wasm",
    }
)  # fmt: skip


def served_content_type(content_type: str, name: str) -> str:
    """The type a file named `name` and sniffed as `content_type` is downloaded as: its own
    if passive, application/octet-stream for anything a browser could run or render."""
    mime = content_type.split(";", 1)[0].strip().lower()
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if mime in PASSIVE_TYPES and extension not in ACTIVE_EXTENSIONS:
        return mime
    return "application/octet-stream"


# What a refused upload is told (the forms and the services say the same).


def too_large_text(name: str) -> str:
    return f"“{name}” is larger than {limits().max_attachment_mb} MB, the limit for one file."


def too_many_files_text() -> str:
    return f"Attach at most {limits().max_attachments} files to one message."


def over_total_text() -> str:
    return (
        f"Attachments on one message can add up to {limits().max_message_attachments_mb} MB "
        "at most."
    )


INTERRUPTED_TEXT = "The upload was interrupted before it finished. Attach the files again."


class EncryptedUpload(UploadedFile):
    """What the view gets instead of a file: a sealed blob and its in-memory data key."""

    def __init__(
        self, *, blob_name: str, data_key: bytes, name: str, size: int, content_type: str
    ) -> None:
        super().__init__(file=None, name=name, content_type=content_type, size=size)
        self.blob_name = blob_name
        self.data_key = data_key

    @override
    def close(self) -> None:
        # Nothing is open: the blob's writer closed when the file ended. (Django closes
        # every uploaded file after the response, and when parsing the body fails.)
        return None

    def discard(self) -> None:
        blob_store().delete(self.blob_name)


def _most_besides_files() -> int | None:
    """The most bytes a form post can hold besides its files' contents: the fields
    (DATA_UPLOAD_MAX_MEMORY_SIZE) and every part's headers and boundary (Django reads at most
    1 KB of headers a part, and as many parts as it takes). None: no such bound. (A body
    made by hand can carry more, in parts Django skips or files sent in base64: it is
    refused as if its files were that long. A browser's form post never does that.)"""
    fields = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if fields is None or settings.DATA_UPLOAD_MAX_NUMBER_FIELDS is None:
        return None
    parts = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + (settings.DATA_UPLOAD_MAX_NUMBER_FILES or 0)
    return int(fields) + (parts + 2) * (1024 + 200)


class EncryptingUploadHandler(FileUploadHandler):
    """Encrypts the files of one request into the blob store as they arrive.

    A file it can tell is refused before its first byte (beyond the number of files one
    message takes, after the request was refused for another file, or when the sender's
    storage quota has no room for it) is never written; one it learns is refused while
    writing (over the size of one file, over the message's total, over the quota, the body
    ending mid-file) stops being written and its blob is deleted. `refusals` say why the
    request can't be sent; `close()` names every blob written, for the view to delete those
    no attachment references once the request is answered.

    `storage` tells the sender's storage use (messaging.quota), asked when the first file
    starts. The quota is checked as the bytes arrive; the service that stores the files
    checks it again, under a lock (services.common.reserve_storage)."""

    def __init__(
        self,
        request: HttpRequest | None = None,
        storage: Callable[[], StorageUse] | None = None,
    ) -> None:
        super().__init__(request)
        self._storage = storage
        self._use: StorageUse | None = None
        # The body's announced length (what it says; the files can't be longer).
        self._content_length: int | None = None
        # Names of files that would pass the quota (None: the files together, told by the
        # body's length before any was written).
        self.over_quota: list[str | None] = []
        self.max_file = settings.SECUREMAIL_MAX_ATTACHMENT_BYTES
        self.max_total = settings.SECUREMAIL_MAX_MESSAGE_ATTACHMENTS_BYTES
        self.max_files = limits().max_attachments
        self.uploads: list[EncryptedUpload] = []
        # Names of files over the size of one file.
        self.rejected: list[str] = []
        self.too_many = False
        self.over_total = False
        self.interrupted = False
        self._files_seen = 0
        # Bytes of the files stored so far.
        self._total = 0
        self._written: list[str] = []
        self._out: BinaryIO | None = None

    @property
    def refused(self) -> bool:
        return (
            bool(self.rejected)
            or self.too_many
            or self.over_total
            or bool(self.over_quota)
            or self.interrupted
        )

    def refusals(self) -> list[str]:
        """What to tell the person, one sentence per reason."""
        texts = [too_large_text(name) for name in self.rejected]
        if self.too_many:
            texts.append(too_many_files_text())
        if self.over_total:
            texts.append(over_total_text())
        if self._use is not None:
            texts.extend(over_quota_text(self._use, name) for name in self.over_quota)
        if self.interrupted:
            texts.append(INTERRUPTED_TEXT)
        return texts

    @override
    def handle_raw_input(
        self,
        input_data: Any,
        META: dict[str, str],
        content_length: int,
        boundary: str,
        encoding: str | None = None,
    ) -> None:
        # Kept for the first file: whether the body is too long for the quota's room.
        self._content_length = content_length
        return None

    def _room(self) -> int | None:
        """Bytes the sender may still store (None: no quota to keep), asked once."""
        if self._storage is None:
            return None
        if self._use is None:
            self._use = self._storage()
        return self._use.left

    def _check_room_before_writing(self, part_length: int | None) -> None:
        """Refuse the request's files before a byte is written when it is plain they can't
        fit: no room at all; the body, less everything that isn't a file's content, longer
        than the room; or this part announcing more than the room."""
        room = self._room()
        if room is None or self.over_quota:
            return
        besides = _most_besides_files()
        if (
            self._files_seen == 1
            and self._content_length is not None
            and besides is not None
            and self._content_length - besides > room
        ):
            self.over_quota.append(None)
        elif room - self._total <= 0 or (
            part_length is not None and self._total + part_length > room
        ):
            self.over_quota.append(self._name())

    @override
    def new_file(self, field_name: str, file_name: str, *args: Any, **kwargs: Any) -> None:
        super().new_file(field_name, file_name, *args, **kwargs)
        if field_name != UPLOAD_FIELD:
            raise SkipFile
        self._files_seen += 1
        if self._files_seen > self.max_files:
            self.too_many = True
        if self.too_many:
            raise SkipFile
        self.size = 0
        self.head = b""
        if not self.refused:
            self._check_room_before_writing(self.content_length)
        if self.refused:
            # Refused already: this file is only measured, to name it if it is too large.
            return
        self.blob_name = uuid.uuid4().hex
        self.data_key = crypto.new_data_key()
        self.encryptor = StreamEncryptor(
            self.data_key, context=Attachment.blob_context(self.blob_name)
        )
        self._written.append(self.blob_name)
        self._out = blob_store().open_write(self.blob_name)

    @override
    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.size += len(raw_data)
        if self.size > self.max_file:
            self.rejected.append(self._name())
            self._stop_writing()
            raise SkipFile
        if self._out is None:
            return None
        if self._total + self.size > self.max_total:
            self.over_total = True
            self._stop_writing()
            return None
        room = self._room()
        if room is not None and self._total + self.size > room:
            self.over_quota.append(self._name())
            self._stop_writing()
            return None
        if len(self.head) < 4096:
            self.head += raw_data[: 4096 - len(self.head)]
        self._out.write(self.encryptor.update(raw_data))
        return None

    @override
    def file_complete(self, file_size: int) -> UploadedFile | None:
        if self._out is None:
            return None
        self._out.write(self.encryptor.finalize())
        self._out.close()
        self._out = None
        upload = EncryptedUpload(
            blob_name=self.blob_name,
            data_key=self.data_key,
            name=self._name(),
            size=self.encryptor.plaintext_size,
            content_type=served_content_type(sniff_content_type(self.head), self._name()),
        )
        self.uploads.append(upload)
        self._total += upload.size or 0
        return upload

    @override
    def upload_interrupted(self) -> None:
        # The body ended in the middle of a file: the client went away, or sent less than
        # it announced. The files before it may be whole, but the form is not.
        self.interrupted = True
        self._stop_writing()

    def close(self) -> list[str]:
        """Stop writing (a file cut off by an error mid-body) and name every blob this
        handler wrote, whole or not."""
        if self._out is not None:
            self._out.close()
            self._out = None
        return list(self._written)

    def _name(self) -> str:
        return clean_filename(self.file_name or "")

    def _stop_writing(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
            blob_store().delete(self.blob_name)
