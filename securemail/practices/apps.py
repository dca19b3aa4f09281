from django.apps import AppConfig


class PracticesConfig(AppConfig):
    name = "securemail.practices"
    label = "practices"
    verbose_name = "Practices and their user managers"
