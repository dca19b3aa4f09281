from typing import Any, override

from django.core.management.base import BaseCommand, CommandParser

from securemail.messaging.services import indexing


class Command(BaseCommand):
    help = (
        "Add the live messages no search index holds yet (those sent before search existed) "
        "to their sender's and recipients' indexes. Running it again changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=100)

    @override
    def handle(self, *args: Any, **options: Any) -> None:
        done = indexing.index_unindexed(batch_size=options["batch_size"])
        self.stdout.write(f"Indexed {done} messages.")
