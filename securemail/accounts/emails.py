"""The one email accounts sends: the link to set (or reset) a password."""

from django.conf import settings
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from securemail.accounts.models import User
from securemail.notifications.models import NotificationKind
from securemail.notifications.services import queue_email


def set_password_url(user: User, token: str) -> str:
    """The link's address: the account's id and the token (of which only the hash is kept)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    path = reverse("accounts:set_password", kwargs={"uidb64": uid, "token": token})
    return f"{settings.SECUREMAIL_BASE_URL}{path}"


def queue_set_password_email(*, user: User, link: str, first_time: bool) -> None:
    """Queue the email with a single-use link to set (or reset) the password (issued by
    accounts.services.send_set_password_email)."""
    queue_email(
        to=user.email,
        template="accounts/emails/set_password",
        context={"user": user, "link": link, "first_time": first_time},
        kind=NotificationKind.SET_PASSWORD,
        recipient_user_id=user.pk,
    )
