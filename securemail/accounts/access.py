"""Reads about people and practices on behalf of a user."""

from securemail.accounts.models import User


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
