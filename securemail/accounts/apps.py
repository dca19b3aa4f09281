from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "securemail.accounts"
    label = "accounts"
    verbose_name = "People and practices"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from securemail.accounts import catalogue, middleware
        from securemail.accounts.security import session

        post_migrate.connect(catalogue.sync_after_migrate, sender=self)
        user_logged_in.connect(middleware.session_started)
        user_logged_in.connect(session.stamp_login)
