"""Plain helpers shared by every test: the personas' password, a loopback SMTP sink and what
it received, links and codes in emails, pages and downloads, attachments and their files.

Fixtures and hooks live in the root conftest.py (which imports from here); what only one
app's tests need lives in that app's tests/helpers.py. Nothing here imports the product at
module level: the root conftest imports this module before Django is ready.
"""

import contextlib
import re
import socket
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import datetime

    import time_machine
    from django.core.files.uploadedfile import SimpleUploadedFile

    from securemail.messaging.models import Attachment
    from securemail.messaging.uploads import EncryptedUpload

# Every persona's password (the `make_user` fixture sets it).
PASSWORD = "correct horse battery staple 42"


# --- SMTP ---------------------------------------------------------------------------------


class SmtpSink:
    """Collects what an SMTP client delivers to 127.0.0.1:<port> (an aiosmtpd handler)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        # Address → SMTP reply for RCPT TO, e.g. "550 5.1.1 No such user" (a bounce).
        self.refuse: dict[str, str] = {}
        self._lock = threading.Lock()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        refusal = self.refuse.get(address.lower())
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(
            envelope.original_content or envelope.content, policy=policy.default
        )
        with self._lock:
            self.messages.append(parsed)  # type: ignore[arg-type]
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if address.lower() in str(m["To"]).lower()]

    def wait_for(self, address: str, count: int = 1, timeout: float = 10.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.to(address)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"expected {count} email(s) to {address}, got {len(self.to(address))}")


def free_port() -> int:
    """A loopback TCP port nothing listens on (the OS picks it, so parallel runs differ)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def smtp_mailers(port: int, timeout: int = 10) -> dict[str, dict[str, Any]]:
    """A MAILERS setting for Django's SMTP backend to 127.0.0.1:<port>."""
    return {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": timeout},
        }
    }


def unreachable_mailers() -> dict[str, dict[str, Any]]:
    """An SMTP mailer pointed at a loopback port nothing listens on."""
    return smtp_mailers(free_port(), timeout=5)


# --- what an email says -------------------------------------------------------------------


def email_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def email_html(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def links_in(text: str) -> list[str]:
    return re.findall(r"https?://[^\s<>\"']+", text)


def code_in(text: str) -> str:
    match = re.search(r"\b(\d{6})\b", text)
    assert match, f"no 6-digit code in {text!r}"
    return match.group(1)


def path_of(url: str) -> str:
    """The path of an emailed link, for Django's test client (which wants no host)."""
    return re.sub(r"^https?://[^/]+", "", url)


# --- pages and downloads ------------------------------------------------------------------


def client_token(page: Any) -> str:
    """The client token a form page carries (a send is idempotent per token)."""
    match = re.search(r'name="client_token" value="([^"]+)"', page.content.decode())
    assert match, "no client_token in the page"
    return match.group(1)


def attachment_url(attachment: "Attachment") -> str:
    return f"/m/{attachment.message_id}/a/{attachment.pk}/"


def downloaded(response: Any) -> bytes:
    """The whole body, streamed or not (streaming raises if a later piece fails its check)."""
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return bytes(response.content)


# --- attachments and their files ----------------------------------------------------------


def file_upload(
    name: str, content: bytes, content_type: str = "text/plain"
) -> "SimpleUploadedFile":
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type=content_type)


def encrypted_upload(name: str, content: bytes) -> "EncryptedUpload":
    """An upload as the compose page receives it: through the real encrypting handler, in
    the pieces Django reads a request body in."""
    from securemail.messaging.uploads import UPLOAD_FIELD, EncryptedUpload, EncryptingUploadHandler

    handler = EncryptingUploadHandler(None)
    handler.new_file(UPLOAD_FIELD, name, "application/octet-stream", len(content))
    piece = 64 * 1024
    for start in range(0, len(content), piece):
        handler.receive_data_chunk(content[start : start + piece], start)
    upload = handler.file_complete(len(content))
    assert isinstance(upload, EncryptedUpload)
    return upload


def blob_path(blob_name: str) -> Path:
    """Where the file store keeps an attachment's ciphertext."""
    from django.conf import settings

    return Path(settings.MEDIA_ROOT) / "blobs" / blob_name[:2] / blob_name


@contextlib.contextmanager
def own_ratchet(path: Path) -> Iterator[None]:
    """A shredding ratchet of the test's own at `path`, so a test that travels in time (and
    lets the worker advance the ratchet) can't shred the day keys the rest of the suite, in
    the same process and in real time, still needs."""
    from django.test import override_settings

    from securemail.core import shred

    shred.ratchet.cache_clear()
    try:
        with override_settings(SECUREMAIL_RATCHET_FILE=path, SECUREMAIL_CREATE_MISSING_KEYS=True):
            yield
    finally:
        shred.ratchet.cache_clear()


@contextlib.contextmanager
def frozen_clock(when: "datetime", tmp_path: Path) -> Iterator["time_machine.Traveller"]:
    """Time frozen at `when`, with a shredding ratchet of the test's own under `tmp_path`: a
    test that moves the clock must not leave the suite's ratchet in the future."""
    import time_machine

    with time_machine.travel(when, tick=False) as traveller, own_ratchet(tmp_path / "ratchet"):
        yield traveller
