from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "securemail.audit"
    label = "audit"
    verbose_name = "Audit log"
