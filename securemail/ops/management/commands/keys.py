from typing import Any, override

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from securemail.audit import services as audit
from securemail.audit.events import Event
from securemail.core import crypto
from securemail.ops import keys


class Command(BaseCommand):
    # `keys init` must run before the startup checks can pass.
    requires_system_checks: list[str] = []
    help = (
        "Key rotation. status: versions and how many data keys each wraps. add: a new key "
        "version (keyring file only). rewrap: move every data key to the active version, in "
        "batches, while the site serves. retire V: drop version V once nothing uses it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["init", "status", "add", "rewrap", "retire"])
        parser.add_argument("version", nargs="?", type=int)
        parser.add_argument("--batch-size", type=int, default=500)

    @override
    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "init":
            self._init()
            return
        ring = crypto.keyring()
        try:
            if action == "add":
                version = ring.store.add_version()
                audit.record(Event.KEY_ADDED, actor_id=None, target=f"key:{version}")
                self.stdout.write(f"Added key version {version}; new data keys use it now.")
            elif action == "rewrap":
                for label, done in keys.rewrap_all(batch_size=options["batch_size"]):
                    self.stdout.write(f"  {label}: {done} re-wrapped")
                left = {
                    v: n for v, n in keys.count_by_version().items() if v != ring.active_version
                }
                audit.record(
                    Event.KEYS_REWRAPPED,
                    actor_id=None,
                    target=f"key:{ring.active_version}",
                    data={"left_on_older": sum(left.values())},
                )
                if left:
                    # Shredded (their expiry job will delete them) or locked right now.
                    self.stdout.write(
                        f"Version {ring.active_version} is active; still on older versions: "
                        + ", ".join(f"{n} on version {v}" for v, n in sorted(left.items()))
                        + ". Run `keys rewrap` again, or retire once the expiry job has run."
                    )
                else:
                    self.stdout.write(f"Every data key now uses version {ring.active_version}.")
            elif action == "retire":
                if options["version"] is None:
                    raise CommandError("Which version? e.g. `keys retire 1`")
                keys.retire(options["version"])
                audit.record(Event.KEY_RETIRED, actor_id=None, target=f"key:{options['version']}")
                self.stdout.write(f"Retired key version {options['version']}.")
        except (ImproperlyConfigured, ValueError) as error:
            raise CommandError(str(error)) from error
        counts = keys.count_by_version(with_index=False)
        indexed = keys.indexed_by_version()
        self.stdout.write(f"Active version: {ring.active_version}")
        for version in sorted(ring.store.versions()):
            line = f"  version {version}: {counts.get(version, 0)} data keys"
            if indexed.get(version):
                line += f", the search entries of {indexed[version]} messages"
            self.stdout.write(line)

    def _init(self) -> None:
        """Create the keyring file (unless keys come from the environment) and the
        shredding ratchet, owner-only. Running it again changes nothing."""
        from django.conf import settings

        from securemail.core import shred

        if settings.SECUREMAIL_KEYS:
            self.stdout.write("Keys come from SECUREMAIL_KEYS: nothing to create.")
        else:
            path = settings.SECUREMAIL_KEYRING_FILE
            existed = path.exists()
            crypto.FileKeyStore(path, create=True)
            self.stdout.write(f"Keyring {'already at' if existed else 'created at'} {path}")
        ratchet_path = settings.SECUREMAIL_RATCHET_FILE
        existed = ratchet_path.exists()
        shred.FileRatchetStore(ratchet_path, create=True)
        self.stdout.write(
            f"Shredding ratchet {'already at' if existed else 'created at'} {ratchet_path}"
        )
