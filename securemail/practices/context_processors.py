from typing import Any

from django.http import HttpRequest

from securemail.accounts.models import User
from securemail.practices.access import is_manager


def practice(request: HttpRequest) -> dict[str, Any]:
    """Whether to show the practice's controls (the practices.access rule decides)."""
    user = getattr(request, "user", None)
    return {"manages_practice": isinstance(user, User) and is_manager(user)}
