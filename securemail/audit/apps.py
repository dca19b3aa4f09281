from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "securemail.audit"
    label = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out

        from securemail.audit import signals
        from securemail.core.signals import delivery_given_up

        user_logged_out.connect(signals.record_logout, dispatch_uid="audit_logout")
        delivery_given_up.connect(
            signals.record_delivery_given_up, dispatch_uid="audit_delivery_given_up"
        )
