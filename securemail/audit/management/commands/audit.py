from typing import Any, override

from django.core.management.base import BaseCommand, CommandError, CommandParser

from securemail.audit import services as audit
from securemail.audit.models import AuditEvent


class Command(BaseCommand):
    help = (
        "verify: check the audit log's chain (HMAC under SECUREMAIL_AUDIT_KEY) and name the "
        "first entry that fails; exit status 1 when it does."
    )

    @override
    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["verify"])

    @override
    def handle(self, *args: Any, **options: Any) -> None:
        found = audit.find_break()
        count = AuditEvent.objects.count()
        if found is None:
            self.stdout.write(f"Audit log intact: {count} entries verified.")
            return
        if found.entry_id is None:
            raise CommandError(f"Audit log broken: {found.reason}.")
        entry = AuditEvent.objects.get(pk=found.entry_id)
        raise CommandError(
            f"Audit log broken at entry {entry.pk} ({entry.created_at:%Y-%m-%d %H:%M:%S} UTC, "
            f"{entry.event}): it {found.reason}."
        )
