from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "securemail.core"
    label = "core"
    verbose_name = "Core plumbing"
