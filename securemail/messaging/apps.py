from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "securemail.messaging"
    label = "messaging"
    verbose_name = "Secure messages"
