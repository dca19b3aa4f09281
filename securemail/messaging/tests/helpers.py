"""Helpers for the messaging tests (the personas and fixtures live in the root conftest.py)."""

import re
import uuid
from html.parser import HTMLParser
from typing import Any

from django.test import Client

from securemail.accounts.models import User
from securemail.messaging import services
from securemail.messaging.models import Message
from securemail.notifications.models import OutboxEmail
from securemail.notifications.services import _payload
from securemail.onboarding.models import RecipientRole

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


def compose(client: Client, **fields: str) -> Any:
    """POST the compose form with a fresh client token; `fields` override the defaults."""
    data = {"subject": SUBJECT, "body": BODY, "client_token": str(uuid.uuid4())}
    data.update(fields)
    return client.post("/compose/", data)


def client_token(page: Any) -> str:
    match = re.search(r'name="client_token" value="([^"]+)"', page.content.decode())
    assert match, "no client_token in the page"
    return match.group(1)


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
