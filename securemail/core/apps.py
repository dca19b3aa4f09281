from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "securemail.core"
    label = "core"
    verbose_name = "Core plumbing"

    def ready(self) -> None:
        from securemail.core import checks  # noqa: F401 - registers the startup checks
