from typing import Any, override

from django.core.management.base import BaseCommand

from securemail.ops.demo import DEMO_ACCOUNTS, demo_password, seed_demo


class Command(BaseCommand):
    help = "Create the demo practice and accounts (running it twice changes nothing)."

    @override
    def handle(self, *args: Any, **options: Any) -> None:
        password = demo_password()
        created = seed_demo(password)
        self.stdout.write("Demo data " + ("created." if created else "already present."))
        for account in DEMO_ACCOUNTS:
            self.stdout.write(f"  {account.email:<20} {account.description}")
        self.stdout.write(f"  password: {password}")
