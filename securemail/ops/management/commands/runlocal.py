import os
import signal
import subprocess
import sys
import time
from typing import Any, override

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from securemail.core.crypto import keyring
from securemail.notifications.catcher import start_catcher
from securemail.ops.demo import DEMO_ACCOUNTS, TEST_CARDS, demo_password, seed_demo


class Command(BaseCommand):
    help = (
        "Run the whole product on one machine: migrate, seed the demo data, start the mail "
        "catcher, the background worker and the web server. Ctrl-C stops everything."
    )

    @override
    def handle(self, *args: Any, **options: Any) -> None:
        port = os.environ.get("PORT", "8000")
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        keyring()  # creates var/keyring (owner-only) on first run with DEBUG on
        call_command("migrate", interactive=False, verbosity=0)
        call_command("createcachetable", verbosity=0)
        password = demo_password()
        seed_demo(password)

        catcher = None
        catcher_url = f"smtp://127.0.0.1:{settings.SECUREMAIL_CATCHER_PORT}"
        if catcher_url == settings.EMAIL_URL:
            try:
                catcher = start_catcher(
                    settings.SECUREMAIL_CATCHER_DIR, port=settings.SECUREMAIL_CATCHER_PORT
                )
            except OSError as error:
                raise CommandError(
                    f"The mail catcher can't listen on 127.0.0.1:"
                    f"{settings.SECUREMAIL_CATCHER_PORT} ({error}). Set SECUREMAIL_CATCHER_PORT."
                ) from error

        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        children = [
            subprocess.Popen([*manage, "run_worker"]),  # noqa: S603
            subprocess.Popen(  # noqa: S603
                [*manage, "runserver", f"127.0.0.1:{port}", "--noreload", "--skip-checks"]
            ),
        ]
        base = settings.SECUREMAIL_BASE_URL
        lines = [
            "",
            "SecureMail is running.",
            f"  Open       {base}/",
            *(f"  Log in as  {a.email:<20} ({a.description})" for a in DEMO_ACCOUNTS),
            f"  Password   {password}",
        ]
        if settings.PAYMENT_PROCESSOR == "test":
            lines += [
                f"  Upgrade    as surgeon@demo.test: {base}/billing/ → Buy now; test cards:",
                *(f"             {card}" for card in TEST_CARDS),
                "             (any future expiry, any 3 digits; renew or fail a renewal at "
                f"{base}/billing/test-processor/)",
            ]
        if catcher is not None:
            lines.append(f"  Mail       {base}/dev/mail/  (every email and text sent)")
        lines.append(
            f"  Console    {base}/{settings.SECUREMAIL_CONSOLE_PATH}  (for operators: "
            "manage.py create_operator EMAIL)"
        )
        lines += ["  Stop       Ctrl-C", ""]
        self.stdout.write("\n".join(lines))

        stopping = False

        def stop(*_: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping and all(child.poll() is None for child in children):
                time.sleep(0.3)
        finally:
            for child in children:
                if child.poll() is None:
                    child.terminate()
            for child in children:
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
            if catcher is not None:
                catcher.stop()
        self.stdout.write("SecureMail stopped.")
