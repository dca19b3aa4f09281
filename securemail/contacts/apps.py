from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "securemail.contacts"
    label = "contacts"
    verbose_name = "Contacts"
