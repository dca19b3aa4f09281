from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "securemail.console"
    label = "console"
    verbose_name = "The operators' console"

    def ready(self) -> None:
        # Each domain's pages register themselves on the console's site as they are imported.
        from securemail.console import pages  # noqa: F401
