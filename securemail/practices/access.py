"""The practice manager's rule, in one place, and reads about a practice for its people.

The first account of a practice is its user manager (SPEC §1): the one who decides the
practice's settings and, with billing, its plans. `Practice` itself lives in accounts (a
user row points at it); the rules about it live here.
"""

from django.core.exceptions import PermissionDenied

from securemail.accounts.models import Practice, User


class NotPracticeManager(PermissionDenied):
    """Only the practice's user manager may do this (a 403 that says so)."""


def is_manager(user: User) -> bool:
    """Whether `user` manages a practice (for showing the practice's controls)."""
    return bool(user.is_practice_manager and user.practice_id is not None)


def managed_practice(user: User) -> Practice:
    """The practice `user` manages; NotPracticeManager for anyone else. Views call it to
    show the practice's pages; the services that change the practice call it to authorize."""
    if not is_manager(user) or user.practice is None:
        raise NotPracticeManager("Only the practice's user manager can do this.")
    return user.practice


def practice_manager(user: User) -> User | None:
    """The user manager of `user`'s practice: the person who decides its plans. None for
    patients and for a practice without one. Anyone may call it for themselves."""
    if user.practice_id is None:
        return None
    return (
        User.objects.filter(practice_id=user.practice_id, is_practice_manager=True, is_active=True)
        .order_by("pk")
        .first()
    )
