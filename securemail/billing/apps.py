from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "securemail.billing"
    label = "billing"
    verbose_name = "Plans and billing"
