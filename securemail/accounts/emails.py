"""The emails accounts sends: the link to set (or reset) a password, security notices,
and the link confirming a new address."""

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
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


def queue_security_notice(*, user: User, headline: str, detail: str = "", to: str = "") -> None:
    """Tell the person what changed about their account's security ("Two-step login was
    turned off"). Never a code, a link token or anything of a message; always by email,
    whatever their notification setting. `to`: another address (the old one, after an
    address change)."""
    when = timezone.localtime(timezone.now(), user.zone)
    queue_email(
        to=to or user.email,
        template="accounts/emails/security_notice",
        context={
            "user": user,
            "headline": headline,
            "detail": detail,
            "when": f"{when:%B %-d, %Y at %-I:%M %p} ({user.time_zone})",
        },
        kind=NotificationKind.SECURITY_NOTICE,
        recipient_user_id=user.pk,
    )


def queue_email_change_link(*, user: User, new_email: str, token: str, hours: int) -> None:
    """The single-use link that makes `new_email` the account's login, sent to it."""
    path = reverse("accounts:confirm_email", kwargs={"token": token})
    queue_email(
        to=new_email,
        template="accounts/emails/email_change",
        context={"user": user, "link": f"{settings.SECUREMAIL_BASE_URL}{path}", "hours": hours},
        kind=NotificationKind.EMAIL_CHANGE,
        recipient_user_id=user.pk,
    )
