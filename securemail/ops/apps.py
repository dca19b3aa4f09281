from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "securemail.ops"
    label = "ops"
    verbose_name = "Running SecureMail: worker, local runner, demo data"
