from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "securemail.audit"
    label = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out

        from securemail.audit import signals

        user_logged_out.connect(signals.record_logout, dispatch_uid="audit_logout")
