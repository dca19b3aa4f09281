import signal
import threading
from typing import Any, override

from django.core.management.base import BaseCommand, CommandParser

from securemail.ops import worker


class Command(BaseCommand):
    help = "Deliver queued email and run periodic jobs (message expiry) until stopped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="One pass, then exit.")
        parser.add_argument("--interval", type=float, default=1.0)

    @override
    def handle(self, *args: Any, **options: Any) -> None:
        if options["once"]:
            sent = worker.run_once()
            self.stdout.write(f"Delivered {sent} email(s).")
            return
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        self.stdout.write("Worker running: delivering email, expiring messages.")
        worker.run_forever(stop, interval=options["interval"])
