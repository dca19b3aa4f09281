"""Changes to what proves who a person is or reaches them: the password, the login address
and the cell phone. Each asks a recent login first (the views: security.reauth), audits,
and tells the person by email (the old address too, for an address change).
"""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from securemail.accounts.emails import queue_email_change_link, queue_security_notice
from securemail.accounts.models import AccountCode, EmailChange, User, normalize_email
from securemail.accounts.security import codes
from securemail.accounts.services import TooManyRequests
from securemail.accounts.validators import validate_new_password
from securemail.audit import services as audit
from securemail.audit.events import Event
from securemail.core import ratelimit, tokens
from securemail.core.phones import code_phone_refusal, masked_phone

EMAIL_LINK_HOURS = 24


class ChangeRefused(Exception):
    """`str(error)` says what to do."""


def change_password(*, user: User, password: str) -> None:
    """A new password for the logged-in person (the validators' ValidationError if refused).
    Their other sessions end (Django's session hash); the view keeps this one."""
    validate_new_password(password, user)
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        audit.record(Event.PASSWORD_CHANGED, actor_id=user.pk, practice_id=user.practice_id)
        queue_security_notice(
            user=user,
            headline="Your password was changed",
            detail="Every other browser logged in to your account was logged out.",
        )


# --- the login address -------------------------------------------------------------------


def request_email_change(*, user: User, new_email: str) -> None:
    """Send a single-use link to `new_email`; the address changes when it is opened and
    confirmed. Earlier links stop working. ChangeRefused for the current address or one
    that has an account; TooManyRequests past the limit."""
    new_email = normalize_email(new_email)
    if new_email == user.email:
        raise ChangeRefused("That is your address already.")
    try:
        ratelimit.spend("email_change", f"user:{user.pk}")
    except ratelimit.RateLimited:
        raise TooManyRequests("Too many address changes. Wait an hour and try again.") from None
    if User.objects.filter(email=new_email).exists():
        raise ChangeRefused("That address belongs to another account. Choose another.")
    token, token_hash = tokens.new_link_token()
    now = timezone.now()
    with transaction.atomic():
        EmailChange.objects.filter(
            user_id=user.pk, used_at__isnull=True, invalidated_at__isnull=True
        ).update(invalidated_at=now)
        change = EmailChange.objects.create(
            user_id=user.pk,
            new_email=new_email,
            token_hash=token_hash,
            created_at=now,
            expires_at=now + timedelta(hours=EMAIL_LINK_HOURS),
        )
        audit.record(
            Event.EMAIL_CHANGE_REQUESTED,
            actor_id=user.pk,
            practice_id=user.practice_id,
            target=f"email_change:{change.pk}",
        )
        queue_email_change_link(user=user, new_email=new_email, token=token, hours=EMAIL_LINK_HOURS)
        queue_security_notice(
            user=user,
            headline="A change of your login address was asked",
            detail="A link was sent to the new address. Your address changes only when "
            "that link is opened and confirmed.",
        )


def pending_email_change(token: str) -> EmailChange | None:
    """The address change a link is for, while it can still be confirmed (None for an
    unknown, used, replaced or expired link: one vague page for all)."""
    change = (
        EmailChange.objects.select_related("user")
        .filter(
            token_hash=tokens.hash_link_token(token),
            used_at__isnull=True,
            invalidated_at__isnull=True,
        )
        .first()
    )
    if change is None or change.expires_at <= timezone.now():
        return None
    return change


def confirm_email_change(*, token: str) -> User:
    """Spend the link: the account's login becomes the new address (the old one is told).
    ChangeRefused for a link that no longer works, or an address taken since."""
    with transaction.atomic():
        change = pending_email_change(token)
        if change is None:
            raise ChangeRefused("This link is no longer valid.")
        change = EmailChange.objects.select_for_update().get(pk=change.pk)
        if change.used_at is not None:
            raise ChangeRefused("This link is no longer valid.")
        user = User.objects.select_for_update().get(pk=change.user_id)
        if User.objects.filter(email=change.new_email).exclude(pk=user.pk).exists():
            raise ChangeRefused("That address belongs to another account now.")
        old_email = user.email
        change.used_at = timezone.now()
        change.save(update_fields=["used_at"])
        user.email = change.new_email
        user.save(update_fields=["email"])
        audit.record(
            Event.EMAIL_CHANGED,
            actor_id=user.pk,
            practice_id=user.practice_id,
            target=f"user:{user.pk}",
        )
        notice = {
            "headline": "Your login address was changed",
            "detail": "From now on, log in with the new address; SecureMail writes to it.",
        }
        queue_security_notice(user=user, **notice)
        queue_security_notice(user=user, to=old_email, **notice)
    return user


# --- the cell phone -----------------------------------------------------------------------


def send_new_phone_code(*, user: User, phone: str) -> str:
    """Text a code to `phone` (E.164, from the form) to verify it as the new cell phone.
    Returns the masked number. ChangeRefused for a number that can't receive codes."""
    refusal = code_phone_refusal(phone)
    if refusal:
        raise ChangeRefused(refusal)
    if phone == user.phone and user.phone_verified_at is not None:
        raise ChangeRefused("That is your verified number already.")
    with transaction.atomic():
        try:
            codes.send_text_code(
                user=user, purpose=AccountCode.Purpose.NEW_PHONE, destination=phone
            )
        except codes.CodeSendLimited as error:
            raise TooManyRequests(str(error)) from None
        audit.record(
            Event.TEXT_CODE_SENT,
            actor_id=user.pk,
            practice_id=user.practice_id,
            target=f"user:{user.pk}",
            data={"purpose": AccountCode.Purpose.NEW_PHONE},
        )
    return masked_phone(phone)


def confirm_new_phone(*, user: User, phone: str, code: str) -> None:
    """The code texted to `phone` makes it the verified cell phone (text-message codes for
    the second step go there from now on)."""
    with transaction.atomic():
        if not codes.check_text_code(
            user=user, purpose=AccountCode.Purpose.NEW_PHONE, typed=code, destination=phone
        ):
            raise ChangeRefused("That code is not right, or has expired. Send a new code.")
        user.phone = phone
        user.phone_type = User.PhoneType.CELL
        user.phone_verified_at = timezone.now()
        user.save(update_fields=["phone", "phone_type", "phone_verified_at"])
        audit.record(
            Event.PHONE_CHANGED,
            actor_id=user.pk,
            practice_id=user.practice_id,
            target=f"user:{user.pk}",
        )
        queue_security_notice(
            user=user,
            headline="Your cell phone was changed",
            detail=f"Codes by text message now go to {masked_phone(phone)}.",
        )
