from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "securemail.accounts"
    label = "accounts"
    verbose_name = "People and practices"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from securemail.accounts import catalogue, middleware, notify
        from securemail.accounts.security import session
        from securemail.notifications.models import NotificationKind
        from securemail.notifications.services import schedule_texts

        post_migrate.connect(catalogue.sync_after_migrate, sender=self)
        user_logged_in.connect(middleware.session_started)
        user_logged_in.connect(session.stamp_login)
        # A new-message text waits out the quiet hours at every try, retries included.
        schedule_texts(NotificationKind.NEW_MESSAGE_TEXT, notify.text_due_for)
