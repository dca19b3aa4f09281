from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "securemail.core"
    label = "core"
    verbose_name = "Core plumbing"

    def ready(self) -> None:
        from django.conf import settings

        from securemail.core import checks  # noqa: F401 - registers the startup checks
        from securemail.core.private_files import make_private

        make_private(settings.VAR_DIR)
