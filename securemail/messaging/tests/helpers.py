"""Helpers for the messaging tests (the personas and fixtures live in the root conftest.py)."""

import re
import uuid
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from securemail.accounts.models import User
from securemail.audit.models import AuditEvent
from securemail.messaging import services
from securemail.messaging.models import Delivery, Message
from securemail.notifications.models import OutboxEmail
from securemail.notifications.services import _payload
from securemail.onboarding.models import Invitation, RecipientRole
from tests.support import encrypted_upload

# PHI-like text: each phrase is distinctive enough that finding it anywhere is a leak.
SUBJECT = "Histology review: sublingual keratosis"
BODY = "Histology shows mild squamous dysplasia. Start chlorhexidine rinse twice daily."
PHI_WORDS = ["Histology", "sublingual keratosis", "dysplasia", "chlorhexidine"]


def send(
    sender: User,
    *recipients: User | str,
    subject: str = SUBJECT,
    body: str = BODY,
    role: RecipientRole | None = None,
) -> Message:
    """Send through the service, as the compose page does (several recipients allowed)."""
    specs = [
        services.RecipientSpec(email=r.email if isinstance(r, User) else r, role=role)
        for r in recipients
    ]
    return services.send_message(
        sender=sender, recipients=specs, subject=subject, body=body, client_token=uuid.uuid4()
    )


def assert_nothing_saved(users_before: int) -> None:
    """A refused send left nothing behind: no message, delivery, invitation, email, account
    or audit entry."""
    assert Message.objects.count() == 0
    assert Delivery.objects.count() == 0
    assert Invitation.objects.count() == 0
    assert OutboxEmail.objects.count() == 0
    assert User.objects.count() == users_before
    assert not AuditEvent.objects.filter(event="messaging:message:send").exists()


def compose(client: Client, **fields: str) -> Any:
    """POST the compose form with a fresh client token; `fields` override the defaults."""
    data = {"subject": SUBJECT, "body": BODY, "client_token": str(uuid.uuid4())}
    data.update(fields)
    return client.post("/compose/", data)


def unread_badge(page: Any) -> int:
    """The unread count in the navigation (0 when no badge is shown)."""
    match = re.search(r'class="badge" aria-label="(\d+) unread">(\d+)<', page.content.decode())
    if match is None:
        return 0
    assert match.group(1) == match.group(2)
    return int(match.group(1))


def outbox_payloads() -> list[tuple[OutboxEmail, dict[str, str]]]:
    """Every queued email with its decrypted content."""
    return [(email, _payload(email)) for email in OutboxEmail.objects.order_by("created_at")]


class _FormParser(HTMLParser):
    """Collects <select> options and <label> texts of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.selects: dict[str, list[tuple[str, str]]] = {}
        self.labels: dict[str, str] = {}
        self._select: str | None = None
        self._option: str | None = None
        self._label: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "select":
            self._select = values.get("name", "")
            self.selects[self._select] = []
        elif tag == "option" and self._select is not None:
            self._option = values.get("value", "")
            self._text = []
        elif tag == "label":
            self._label = values.get("for", "")
            self._text = []

    def handle_data(self, data: str) -> None:
        self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "option" and self._select is not None and self._option is not None:
            self.selects[self._select].append((self._option, "".join(self._text).strip()))
            self._option = None
        elif tag == "select":
            self._select = None
        elif tag == "label" and self._label is not None:
            self.labels[self._label] = "".join(self._text).strip()
            self._label = None


def parse_form(html: str) -> _FormParser:
    parser = _FormParser()
    parser.feed(html)
    return parser


# --- pages, files and time (used by the mailbox feature tests) -----------------------------


def as_user(client: Client, user: User) -> Client:
    """Switch `client` to another person (the `login` fixture's client, reused)."""
    client.force_login(user, backend="securemail.accounts.backends.EmailBackend")
    return client


def text_of(html: str) -> str:
    """The visible text of a piece of HTML, whitespace collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def mailbox_rows(page: Any) -> list[str]:
    """The rows of a folder page's table, as HTML (empty list for an empty folder)."""
    content = page.content.decode()
    if "<tbody>" not in content:
        return []
    body = content.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<tr.*?</tr>", body, flags=re.S)


def link_labelled(page: Any, label: str) -> str | None:
    """The href of the link whose text is `label` (None when there is no such link)."""
    for href, text in re.findall(r'<a href="([^"]*)"[^>]*>(.*?)</a>', page.content.decode()):
        if text_of(text) == label:
            return unescape(href)
    return None


def queries_for(client: Client, path: str) -> int:
    """How many database queries one GET of `path` makes (it must answer 200)."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, path
    return len(queries)


def send_with_files(
    sender: User, *recipients: User | str, files: dict[str, bytes], **kwargs: Any
) -> Message:
    """Send through the service with attachments (name → content), like `send`."""
    specs = [
        services.RecipientSpec(email=r.email if isinstance(r, User) else r, role=kwargs.get("role"))
        for r in recipients
    ]
    return services.send_message(
        sender=sender,
        recipients=specs,
        subject=kwargs.get("subject", SUBJECT),
        body=kwargs.get("body", BODY),
        client_token=uuid.uuid4(),
        attachments=[encrypted_upload(name, data) for name, data in files.items()],
    )


def blob_files() -> set[Path]:
    """Every attachment ciphertext file under MEDIA_ROOT."""
    root = Path(settings.MEDIA_ROOT) / "blobs"
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()
