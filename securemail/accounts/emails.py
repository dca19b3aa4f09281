"""The one email accounts sends: the link to set (or reset) a password."""

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from securemail.accounts.models import User
from securemail.notifications.models import NotificationKind
from securemail.notifications.services import queue_email


def set_password_link(user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    path = reverse("accounts:set_password", kwargs={"uidb64": uid, "token": token})
    return f"{settings.SECUREMAIL_BASE_URL}{path}"


def queue_set_password_email(*, user: User, first_time: bool) -> None:
    """Queue the email with a single-use, 24-hour link to set (or reset) the password."""
    queue_email(
        to=user.email,
        template="accounts/emails/set_password",
        context={"user": user, "link": set_password_link(user), "first_time": first_time},
        kind=NotificationKind.SET_PASSWORD,
        recipient_user_id=user.pk,
    )
