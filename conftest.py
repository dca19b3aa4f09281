"""Shared test fixtures: personas, a loopback SMTP server and a real Chromium.

Personas (STYLE.md): a paid doctor who manages one practice, a paid staff member and a free
staff member of it, a paid doctor of another practice, a patient, and an outsider.
"""

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from django.utils import timezone

# Django's live_server runs in a thread; Playwright's sync API looks async to Django.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "correct horse battery staple 42"
CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    # In CI every test must run: a skip is a failure.
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"Skipped in CI (not allowed): {report.longrepr}"


# --- personas ---------------------------------------------------------------------------


@pytest.fixture
def make_user(db: None) -> Any:
    from securemail.accounts.models import User

    counter = {"n": 0}

    def make(email: str, **fields: Any) -> User:
        counter["n"] += 1
        defaults: dict[str, Any] = {
            "full_name": email.split("@")[0].replace(".", " ").title(),
            "kind": User.Kind.STAFF,
            "status": User.Status.ACTIVE,
            "phone": f"+1202555{counter['n']:04d}",
            "phone_verified_at": timezone.now(),
        }
        defaults.update(fields)
        return User.objects.create_user(email, PASSWORD, **defaults)

    return make


@pytest.fixture
def practice(db: None) -> Any:
    from securemail.accounts.models import Practice

    return Practice.objects.create(
        name="Bright Smiles Dental",
        phone="+12025550143",
        address_line1="100 Main Street",
        city="Springfield",
        state="IL",
        postal_code="62701",
    )


@pytest.fixture
def other_practice(db: None) -> Any:
    from securemail.accounts.models import Practice

    return Practice.objects.create(
        name="Lakeside Oral Surgery",
        phone="+13125550188",
        address_line1="9 Lake Shore Drive",
        city="Chicago",
        state="IL",
        postal_code="60601",
    )


@pytest.fixture
def doctor(make_user: Any, practice: Any) -> Any:
    """Paid doctor, user manager of `practice`."""
    return make_user(
        "jane.roe@brightsmiles.test",
        full_name="Jane Roe",
        kind="doctor",
        plan="paid",
        practice=practice,
        is_practice_manager=True,
    )


@pytest.fixture
def staff(make_user: Any, practice: Any) -> Any:
    return make_user(
        "sam.front@brightsmiles.test", full_name="Sam Front", plan="paid", practice=practice
    )


@pytest.fixture
def free_staff(make_user: Any, practice: Any) -> Any:
    return make_user("fran.free@brightsmiles.test", full_name="Fran Free", practice=practice)


@pytest.fixture
def other_doctor(make_user: Any, other_practice: Any) -> Any:
    return make_user(
        "omar.lee@lakeside.test",
        full_name="Omar Lee",
        kind="doctor",
        plan="paid",
        practice=other_practice,
        is_practice_manager=True,
    )


@pytest.fixture
def patient(make_user: Any) -> Any:
    return make_user("pat.smith@mail.test", full_name="Pat Smith", kind="patient")


@pytest.fixture
def outsider(make_user: Any) -> Any:
    return make_user("olivia.out@elsewhere.test", full_name="Olivia Out", kind="patient")


@pytest.fixture
def login(client: Any) -> Any:
    def do(user: Any) -> Any:
        client.force_login(user, backend="securemail.accounts.backends.EmailBackend")
        return client

    return do


@pytest.fixture(autouse=True)
def _clear_cache() -> Iterator[None]:
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


# --- email ------------------------------------------------------------------------------


class SmtpSink:
    """Collects what an SMTP client delivers to 127.0.0.1:<port>."""

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
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_server(settings: Any) -> Iterator[SmtpSink]:
    """A real SMTP server on loopback; Django's SMTP backend delivers to it."""
    from aiosmtpd.controller import Controller

    sink = SmtpSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    mailers = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 10},
        }
    }
    # Through pytest-django's `settings`, so a test that also changes MAILERS can't leave
    # this server's address behind when both are undone.
    settings.MAILERS = mailers
    yield sink
    controller.stop()


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


# --- browser ----------------------------------------------------------------------------

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"Chromium not found at {CHROMIUM} (install Debian's chromium package)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(chromium: Any) -> Iterator[Any]:
    """Open pages in fresh browser contexts (one per person), closed after the test."""
    contexts = []

    def make() -> Any:
        context = chromium.new_context()
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
