"""Helpers for the security tests (issue 3). Personas and `login` live in the root conftest.py.

Each helper drives the product the way a user or an attacker would: the compose page for
uploads, raw bytes for what a thief reads, a copy of rows and blob files for a backup.
"""

import contextlib
import os
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models
from django.test import Client, override_settings

from securemail.core import crypto
from securemail.core.blobs import blob_store
from securemail.messaging.models import Attachment, Delivery, Draft, Message, SearchEntry
from securemail.messaging.uploads import UPLOAD_FIELD
from securemail.notifications.models import OutboxEmail
from tests.support import blob_path

UNAVAILABLE = b"This message can't be shown"
PNG_HEADER = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
)

# The environment of a production start (DEBUG off), less the keys each test gives or not.
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "securemail.settings",
    "DEBUG": "false",
    "SECRET_KEY": "a-production-secret-for-this-test-only",
    "SECUREMAIL_BASE_URL": "https://mail.example.test",
    "ALLOWED_HOSTS": "mail.example.test",
    "EMAIL_URL": "locmem://",
    "SMS_PROVIDER": "local",
    "SECUREMAIL_AUDIT_KEY": "cHJvZHVjdGlvbi1hdWRpdC1rZXktZm9yLXRlc3RzISE=",
    "PAYMENT_PROCESSOR": "stripe",
    "STRIPE_SECRET_KEY": "sk_test_for_this_test_only",
    "STRIPE_WEBHOOK_SECRET": "whsec_for_this_test_only",
    "STRIPE_PRICE_MONTHLY": "price_monthly",
    "STRIPE_PRICE_ANNUAL": "price_annual",
}


def new_marker(label: str) -> str:
    """A string that cannot occur anywhere by chance: finding it anywhere is a leak."""
    return f"PHI{label.upper()}X{uuid.uuid4().hex.upper()}"


def forms_of(marker: str) -> list[bytes]:
    """How a marker would look if stored in clear: as text, and as PostgreSQL prints a
    bytea column (hex), so a plaintext BinaryField can't hide in a dump."""
    raw = marker.encode()
    return [raw, raw.hex().encode(), raw.hex().upper().encode()]


def leaked(data: bytes, *markers: str) -> list[str]:
    """The markers found in `data`, in any of their stored forms."""
    return [m for m in markers if any(form in data for form in forms_of(m))]


def compose_with_files(
    client: Client, *, to: str, subject: str, body: str, files: Iterable[SimpleUploadedFile]
) -> Any:
    """POST the compose page as a browser does: multipart, with the files as attachments."""
    return client.post(
        "/compose/",
        {
            "to": to,
            "subject": subject,
            "body": body,
            "expiry_days": "30",
            "client_token": str(uuid.uuid4()),
            UPLOAD_FIELD: list(files),
        },
    )


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in Path(root).rglob("*") if p.is_file()) if Path(root).exists() else []


def files_modified_since(root: str, since: float) -> Iterator[Path]:
    """Regular files under `root` changed at or after `since` (other processes' files that
    vanish or can't be read are passed over: they can't hold this test's marker)."""
    for directory, _, names in os.walk(root, onerror=lambda _: None):
        for name in names:
            path = Path(directory) / name
            try:
                if path.is_file() and not path.is_symlink() and path.stat().st_mtime >= since:
                    yield path
            except OSError:
                continue


def file_holds(path: Path, *markers: str) -> list[str]:
    """The markers found in a file, read in pieces (overlapping, so none is cut in two)."""
    overlap = max(len(form) for m in markers for form in forms_of(m))
    found: set[str] = set()
    tail = b""
    try:
        with path.open("rb") as handle:
            while piece := handle.read(1024 * 1024):
                found.update(leaked(tail + piece, *markers))
                tail = piece[-overlap:]
    except OSError:
        return []
    return sorted(found)


# --- a copy of the database (a backup) ---------------------------------------------------


@dataclass
class DatabaseCopy:
    """What a backup holds for messages: their rows and their blob files, byte for byte."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    search_entries: list[dict[str, Any]] = field(default_factory=list)
    blobs: dict[str, bytes] = field(default_factory=dict)

    @classmethod
    def take(cls) -> "DatabaseCopy":
        attachments = [_plain(row) for row in Attachment.objects.values()]
        return cls(
            # Conversation roots first, so replies restore after what they point to.
            messages=sorted(
                (_plain(row) for row in Message.objects.values()),
                key=lambda row: row["thread_root_id"] is not None,
            ),
            attachments=attachments,
            deliveries=[_plain(row) for row in Delivery.objects.values()],
            search_entries=list(SearchEntry.objects.values(*_ENTRY_FIELDS)),
            blobs={a["blob_name"]: blob_path(a["blob_name"]).read_bytes() for a in attachments},
        )

    def restore(self) -> None:
        """Put the copy back, as restoring the backup would (over whatever is there)."""
        self.drop()
        Message.objects.bulk_create([Message(**row) for row in self.messages])
        Attachment.objects.bulk_create([Attachment(**row) for row in self.attachments])
        Delivery.objects.bulk_create([Delivery(**row) for row in self.deliveries])
        SearchEntry.objects.bulk_create([SearchEntry(**row) for row in self.search_entries])
        for name, data in self.blobs.items():
            path = blob_path(name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

    def drop(self) -> None:
        Message.objects.filter(pk__in=[row["id"] for row in self.messages]).delete()
        for name in self.blobs:
            blob_path(name).unlink(missing_ok=True)


_ENTRY_FIELDS = ("owner_id", "day", "key_version", "token", "sent_at", "message_id")


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    # BinaryField values come back as memoryview on PostgreSQL: copy them out.
    return {k: bytes(v) if isinstance(v, memoryview) else v for k, v in row.items()}


# --- keys --------------------------------------------------------------------------------


@contextlib.contextmanager
def file_keyring(path: Path) -> Iterator[None]:
    """Use a keyring file at `path` (created with version 1) instead of the test's fixed
    environment keyring, then return to it."""
    crypto.keyring.cache_clear()
    blob_store.cache_clear()
    try:
        with override_settings(
            SECUREMAIL_KEYS="",
            SECUREMAIL_KEYRING_FILE=path,
            SECUREMAIL_ACTIVE_KEY_VERSION=None,
            SECUREMAIL_CREATE_MISSING_KEYS=True,
        ):
            yield
    finally:
        crypto.keyring.cache_clear()
        blob_store.cache_clear()


def key_versions_in_use() -> dict[str, set[int]]:
    """For every table holding wrapped keys: the versions in its rows, read from the
    wrapped keys themselves (not only the key_version column)."""
    tables: list[type[models.Model]] = [Message, Attachment, Draft, OutboxEmail]
    found: dict[str, set[int]] = {}
    for model in tables:
        rows = model.objects.exclude(wrapped_key=None).values_list("wrapped_key", "key_version")  # type: ignore[attr-defined]
        for wrapped, column in rows:
            version = crypto.wrapped_key_version(bytes(wrapped))
            assert version == column, f"{model.__name__}: key_version column disagrees"
            found.setdefault(model.__name__, set()).add(version)
    return found


# --- logs --------------------------------------------------------------------------------


def log_output(caplog: Any) -> bytes:
    """Everything a log handler could write: formatted lines with tracebacks, raw
    messages and their arguments."""
    parts = [caplog.text]
    for record in caplog.records:
        parts.append(record.getMessage())
        parts.append(repr(record.args))
        if record.exc_info and record.exc_info[1] is not None:
            parts.append(repr(record.exc_info[1]))
    return "\n".join(parts).encode()
