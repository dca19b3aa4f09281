"""The only writers of people and practices."""

from typing import TYPE_CHECKING

from django.contrib.auth.tokens import default_token_generator
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.encoding import force_bytes
from django.utils.http import base36_to_int, urlsafe_base64_decode, urlsafe_base64_encode

from securemail.accounts.models import User

if TYPE_CHECKING:
    from securemail.accounts.forms import ProfileForm
from securemail.audit import services as audit
from securemail.notifications.services import queue_email

MAX_FAILED_LOGINS = 5


def record_failed_login(*, user: User) -> None:
    """Count a wrong password; the fifth in a row locks the account until a reset."""
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(failed_logins=F("failed_logins") + 1)
        user.refresh_from_db(fields=["failed_logins", "locked_at"])
        audit.record("accounts:login:failed", actor_id=user.pk, practice_id=user.practice_id)
        if user.failed_logins >= MAX_FAILED_LOGINS and user.locked_at is None:
            user.locked_at = timezone.now()
            user.save(update_fields=["locked_at"])
            audit.record("accounts:user:locked", actor_id=None, target=f"user:{user.pk}")


def record_successful_login(*, user: User) -> None:
    if user.failed_logins:
        User.objects.filter(pk=user.pk).update(failed_logins=0)
    audit.record("accounts:login:succeeded", actor_id=user.pk, practice_id=user.practice_id)


def set_password_link(user: User) -> str:
    from django.conf import settings

    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    path = reverse("accounts:set_password", kwargs={"uidb64": uid, "token": token})
    return f"{settings.SECUREMAIL_BASE_URL}{path}"


def user_of_expired_set_password_link(*, uidb64: str, token: str) -> User | None:
    """The account a set-password link was made for, when the link is genuine but past its
    24 hours, so the "no longer valid" page can offer a fresh one to that account's address.
    None for an altered link, and for a used one (the password has changed since, so the
    token no longer matches: that person logs in, or types their address)."""
    try:
        user = User.objects.get(pk=int(urlsafe_base64_decode(uidb64).decode()))
        timestamp = base36_to_int(token.split("-", 1)[0])
    except (ValueError, TypeError, OverflowError, UnicodeDecodeError, User.DoesNotExist):
        return None
    # Django's own check, minus the age: the same hash for the same user state and timestamp.
    expected = default_token_generator._make_token_with_timestamp(
        user, timestamp, default_token_generator.secret
    )
    return user if constant_time_compare(expected, token) else None


def queue_set_password_email(*, user: User, first_time: bool) -> None:
    """Queue the email with a single-use, 24-hour link to set (or reset) the password."""
    queue_email(
        to=user.email,
        template="accounts/emails/set_password",
        context={"user": user, "link": set_password_link(user), "first_time": first_time},
        kind="set_password",
        recipient_user_id=user.pk,
    )


def request_password_link(*, email: str) -> None:
    """Send a set-password link if `email` belongs to an account that may have one.

    Answers nothing either way: the caller shows the same page whether or not it exists.
    """
    user = User.objects.filter(
        email=email.strip().lower(),
        is_active=True,
        status__in=[User.Status.REGISTERED, User.Status.ACTIVE],
    ).first()
    if user is None:
        return
    with transaction.atomic():
        queue_set_password_email(user=user, first_time=user.status == User.Status.REGISTERED)
        audit.record("accounts:password:link_requested", actor_id=None, target=f"user:{user.pk}")


def set_password(*, user: User, password: str) -> None:
    """Set the password from an emailed link: activates a new account, unlocks a locked one."""
    with transaction.atomic():
        user.set_password(password)
        user.status = User.Status.ACTIVE
        user.failed_logins = 0
        user.locked_at = None
        user.save(update_fields=["password", "status", "failed_logins", "locked_at"])
        audit.record("accounts:password:set", actor_id=user.pk, practice_id=user.practice_id)


def update_profile(*, user: User, form: "ProfileForm") -> None:
    """The person edits their own profile (name, time zone, signature, defaults)."""
    with transaction.atomic():
        form.save()
        audit.record("accounts:profile:update", actor_id=user.pk, practice_id=user.practice_id)
