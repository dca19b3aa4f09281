"""Reads about accounts on behalf of the pages that need them, and the operators' rule."""

from django.utils import timezone
from django.utils.http import urlsafe_base64_decode

from securemail.accounts.models import PasswordLink, User
from securemail.core import tokens


def password_link(*, uidb64: str, token: str) -> PasswordLink | None:
    """The link behind a set-password URL, whatever its state (see `is_usable`,
    `is_expired`), or None: a link we never sent, an altered one, one replaced by a newer
    link or ended by a password set since, or one for an account switched off."""
    user_id = _user_id(uidb64)
    if user_id is None:
        return None
    return (
        PasswordLink.objects.select_related("user")
        .filter(token_hash=tokens.hash_link_token(token), user_id=user_id, user__is_active=True)
        .first()
    )


def password_link_by_id(*, link_id: object, uidb64: str) -> PasswordLink | None:
    """The link a browser opened (its session keeps the id, never the token), if it is for
    the account the URL names; None otherwise."""
    user_id = _user_id(uidb64)
    if not isinstance(link_id, int) or user_id is None:
        return None
    return (
        PasswordLink.objects.select_related("user")
        .filter(pk=link_id, user_id=user_id, user__is_active=True)
        .first()
    )


def _user_id(uidb64: str) -> int | None:
    """The account id a set-password URL names (None for one that names none)."""
    try:
        return int(urlsafe_base64_decode(uidb64).decode())
    except (ValueError, TypeError, UnicodeDecodeError):
        return None


def is_usable(link: PasswordLink) -> bool:
    """Neither used nor expired: its form may be shown (only the POST that sets the
    password spends it, in accounts.services)."""
    return link.used_at is None and link.expires_at > timezone.now()


def is_expired(link: PasswordLink) -> bool:
    """Genuine, never used, past its hours: the "no longer valid" page may offer a fresh
    link to the address it was sent to."""
    return link.used_at is None and link.expires_at <= timezone.now()


def user_of_expired_set_password_link(*, uidb64: str, token: str) -> User | None:
    """The account a set-password link was made for, when the link is genuine but past its
    hours, so the "no longer valid" page can offer a fresh one to that account's address.
    None for an altered link, a used one (that person logs in, or types their address) and
    one replaced since."""
    link = password_link(uidb64=uidb64, token=token)
    return link.user if link is not None and is_expired(link) else None


def is_operator(user: object) -> bool:
    """The operators' rule: an active operator account (someone running the service). The
    console lets in only them, and they reach nothing but the console (console.middleware);
    the services operators call check it again."""
    return isinstance(user, User) and user.is_active and user.is_operator
