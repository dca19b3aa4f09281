from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from securemail.core import crypto
from securemail.ops import keys


class Command(BaseCommand):
    help = (
        "Key rotation. status: versions and how many data keys each wraps. add: a new key "
        "version (keyring file only). rewrap: move every data key to the active version, in "
        "batches, while the site serves. retire V: drop version V once nothing uses it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["status", "add", "rewrap", "retire"])
        parser.add_argument("version", nargs="?", type=int)
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, **options: Any) -> None:
        ring = crypto.keyring()
        action = options["action"]
        try:
            if action == "add":
                version = ring.store.add_version()
                self.stdout.write(f"Added key version {version}; new data keys use it now.")
            elif action == "rewrap":
                for label, done in keys.rewrap_all(batch_size=options["batch_size"]):
                    self.stdout.write(f"  {label}: {done} re-wrapped")
                self.stdout.write(f"Every data key now uses version {ring.active_version}.")
            elif action == "retire":
                if options["version"] is None:
                    raise CommandError("Which version? e.g. `keys retire 1`")
                keys.retire(options["version"])
                self.stdout.write(f"Retired key version {options['version']}.")
        except (ImproperlyConfigured, ValueError) as error:
            raise CommandError(str(error)) from error
        counts = keys.count_by_version()
        self.stdout.write(f"Active version: {ring.active_version}")
        for version in sorted(ring.store.versions()):
            self.stdout.write(f"  version {version}: {counts.get(version, 0)} data keys")
