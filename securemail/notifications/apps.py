from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "securemail.notifications"
    label = "notifications"
    verbose_name = "Outgoing email and SMS"
