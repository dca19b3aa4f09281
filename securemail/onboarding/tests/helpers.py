"""Helpers for the registration tests: invite someone, read what was emailed (or "texted")
to them, and walk the wizard with good answers."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from django.core import mail
from django.http import HttpResponse
from django.test import Client

from securemail.accounts.models import Specialty, User
from securemail.notifications.services import deliver_due
from securemail.onboarding import services
from securemail.onboarding.models import Invitation, RecipientRole
from tests.support import client_token, code_in, links_in, path_of

PHONE = "(202) 555-0177"
PHONE_E164 = "+12025550177"
PHONE_INBOX = "12025550177@sms.invalid"
OTHER_PHONE = "(312) 555-0143"
OTHER_PHONE_E164 = "+13125550143"
OTHER_PHONE_INBOX = "13125550143@sms.invalid"
VALID_NPI = "1234567893"

PRACTICE = {
    "name": "Lakeview Family Dentistry",
    "website": "lakeview.example",
    "phone": "(312) 555-0188",
    "address_line1": "9 Lake Shore Drive",
    "city": "Chicago",
    "state": "IL",
    "postal_code": "60601",
}

INVALID_LINK_TEXT = "This link is no longer valid"


# --- what was sent ------------------------------------------------------------------------


@dataclass
class Sent:
    to: list[str]
    subject: str
    text: str
    html: str

    @property
    def everything(self) -> str:
        return "\n".join([self.subject, self.text, self.html])


def _from_smtp(message: EmailMessage) -> Sent:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    return Sent(
        to=[address.strip() for address in str(message["To"]).split(",")],
        # A long subject is folded onto the next line; unfolded, it keeps a leading space.
        subject=str(message["Subject"]).strip(),
        text=str(text.get_content()) if text is not None else "",
        html=str(html.get_content()) if html is not None else "",
    )


def _from_locmem(message: Any) -> Sent:
    alternatives = getattr(message, "alternatives", [])
    html = "".join(alt[0] for alt in alternatives if alt[1] == "text/html")
    return Sent(to=list(message.to), subject=message.subject, text=message.body, html=html)


class Mailbox:
    """Every email sent so far: from Django's locmem mailer, or from the loopback SMTP
    server when one is given. Reading it first delivers what the outbox has due."""

    def __init__(self, smtp: Any = None) -> None:
        self.smtp = smtp

    def all(self) -> list[Sent]:
        deliver_due()
        if self.smtp is not None:
            return [_from_smtp(m) for m in list(self.smtp.messages)]
        return [_from_locmem(m) for m in mail.outbox]

    def to(self, address: str) -> list[Sent]:
        return [m for m in self.all() if address.lower() in (a.lower() for a in m.to)]

    def last_to(self, address: str) -> Sent:
        sent = self.to(address)
        assert sent, f"no email to {address}"
        return sent[-1]

    def link(self, address: str, marker: str) -> str:
        """The path of the newest link containing `marker` emailed to `address`."""
        for message in reversed(self.to(address)):
            links = [link for link in links_in(message.text) if marker in link]
            if links:
                return path_of(links[0])
        raise AssertionError(f"no {marker} link emailed to {address}")

    def code(self, address: str) -> str:
        """The newest code sent to `address`, by text, email or (spoken digit by digit) call."""
        text = self.last_to(address).text
        spoken = re.search(r"\b(\d(?: \d){5})\b", text)
        return spoken.group(1).replace(" ", "") if spoken else code_in(text)


MAILBOX = Mailbox()


# --- invitations ----------------------------------------------------------------------------


def invite(
    inviter: User, email: str, role: RecipientRole | str, mailbox: Mailbox = MAILBOX
) -> tuple[Invitation, str]:
    """Invite `email` through the service; return the invitation and its link's path
    (read from the welcome email: the database only has the token's hash)."""
    invitation = services.invite(inviter=inviter, email=email, role=RecipientRole(role))
    return invitation, mailbox.link(email, "/join/")


def start(join_path: str) -> Client:
    """A new browser that opened the link and pressed "Start registration"."""
    client = Client()
    response = client.post(join_path)
    assert response.status_code == 302, response
    return client


# --- the wizard's steps, answered well --------------------------------------------------------


def post_practice(client: Client, **changes: str) -> HttpResponse:
    return client.post("/register/practice/", PRACTICE | changes)


def post_you(client: Client, **changes: str) -> HttpResponse:
    data = {"full_name": "Alex Newman", "phone": PHONE, "phone_type": "cell"} | changes
    return client.post("/register/you/", data)


def usual_procedures(specialty: str = "endodontics") -> list[str]:
    found = Specialty.objects.get(slug=specialty).usual_procedures.values_list("slug", flat=True)
    return list(found)


def post_specialty(client: Client, **changes: Any) -> HttpResponse:
    data = {
        "specialty": "endodontics",
        "procedures": usual_procedures()[:2],
        "npi": VALID_NPI,
    } | changes
    return client.post("/register/specialty/", data)


def send_code(client: Client, channel: str = "sms") -> HttpResponse:
    return client.post("/register/verify/send/", {"channel": channel})


def enter_code(client: Client, code: str) -> HttpResponse:
    return client.post("/register/verify/", {"code": code})


def verify_phone(client: Client, mailbox: Mailbox = MAILBOX) -> HttpResponse:
    response = send_code(client, "sms")
    assert response.status_code == 302, response
    return enter_code(client, mailbox.code(PHONE_INBOX))


def accept_terms(client: Client) -> HttpResponse:
    return client.post("/register/terms/", {"accept": "on"})


def wrong(code: str) -> str:
    """A 6-digit code that is certainly not `code`."""
    return f"{(int(code) + 1) % 1_000_000:06d}"


def answer_step(client: Client, location: str, mailbox: Mailbox = MAILBOX) -> HttpResponse:
    """Answer the wizard step at `location` (a /register/<step>/ URL) with good answers."""
    answers: dict[str, Callable[[], HttpResponse]] = {
        "practice": lambda: post_practice(client),
        "you": lambda: post_you(client),
        "specialty": lambda: post_specialty(client),
        "verify": lambda: verify_phone(client, mailbox),
        "terms": lambda: accept_terms(client),
    }
    return answers[location.rstrip("/").rsplit("/", 1)[1]]()


def finish_wizard(client: Client, mailbox: Mailbox = MAILBOX) -> HttpResponse:
    """Answer every step still open, with good answers, and accept the terms."""
    response = client.get("/register/")
    for _ in range(6):
        assert response.status_code == 302, response
        if response["Location"].endswith("/register/done/"):
            return response
        response = answer_step(client, response["Location"], mailbox)
    raise AssertionError("the wizard did not finish")


def register(
    inviter: User, email: str, role: RecipientRole | str, mailbox: Mailbox = MAILBOX
) -> tuple[User, Client]:
    """Invite `email` and finish its wizard; the account is left REGISTERED."""
    _, join_path = invite(inviter, email, role, mailbox)
    client = start(join_path)
    finish_wizard(client, mailbox)
    return User.objects.get(email=email), client


# --- messages -------------------------------------------------------------------------------


def compose(client: Client, *, to: str, subject: str, body: str, role: str | None) -> Any:
    """Send a message through the compose page, as a person would."""
    token = client_token(client.get("/compose/"))
    data = {"to": to, "subject": subject, "body": body, "client_token": token}
    if role:
        data["role"] = role
    return client.post("/compose/", data)
