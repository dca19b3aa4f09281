"""Helpers for the notifications tests (fixtures live in the root conftest.py): a real
email queued as a service would, a real worker process (`manage.py run_worker`) on the
test database, and an SMTP server that takes its time."""

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from django.db import connection, transaction

from securemail.accounts.models import PasswordLink, User
from securemail.accounts.services import issue_password_link
from securemail.notifications.models import OutboxEmail
from securemail.notifications.services import queue_email
from tests.support import SmtpSink

ROOT = Path(__file__).resolve().parents[3]


def queue_password_email(user: User) -> tuple[OutboxEmail, str]:
    """Queue a real email (the set-password one) as a service would; returns it and its link."""
    link = issue_password_link(user=user, purpose=PasswordLink.Purpose.RESET)
    with transaction.atomic():
        email = queue_email(
            to=user.email,
            template="accounts/emails/set_password",
            context={"user": user, "link": link, "first_time": False},
            kind="set_password",
            recipient_user_id=user.pk,
        )
    return email, link


def database_url() -> str:
    """The test database this test runs against, for processes the test starts."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user = db["USER"] or "postgres"
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{user}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


def start_worker(smtp_port: int, log: IO[bytes], **env: str) -> subprocess.Popen[bytes]:
    """A real `manage.py run_worker` process on this test's database, mailing through the
    SMTP server at 127.0.0.1:<smtp_port>; `env` adds settings (SECUREMAIL_OUTBOX_...)."""
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "securemail.settings_test",
        "DATABASE_URL": database_url(),
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}?timeout=5",
        **env,
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "run_worker", "--interval", "0.2"],
        cwd=ROOT,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def stop(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll `check` until it holds; returns the seconds it took (AssertionError after
    `timeout`)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout} s: {what}")


class SlowSmtpSink(SmtpSink):
    """An SMTP server that keeps each message, then waits `delay` seconds before saying it
    took it (a slow relay): a worker killed in that wait never learns it was delivered."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        await asyncio.sleep(self.delay)
        return answer

    def count(self) -> int:
        with self._lock:
            return len(self.messages)
