"""Reads about accounts on behalf of the pages that need them, and the operators' rule."""

from django.contrib.auth.tokens import default_token_generator
from django.utils.crypto import constant_time_compare
from django.utils.http import base36_to_int, urlsafe_base64_decode

from securemail.accounts.models import User


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


def is_operator(user: object) -> bool:
    """The operators' rule: an active operator account (someone running the service). The
    console lets in only them, and they reach nothing but the console (console.middleware);
    the services operators call check it again."""
    return isinstance(user, User) and user.is_active and user.is_operator
