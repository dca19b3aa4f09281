from typing import Any

from django.http import HttpRequest

from securemail.accounts.models import User
from securemail.billing.access import payment_problem


def billing(request: HttpRequest) -> dict[str, Any]:
    """The failed-payment banner, on every page until the person buys again."""
    user = getattr(request, "user", None)
    if not isinstance(user, User) or user.is_operator:
        # Operators have no plan (and the console's pages count their queries).
        return {}
    return {"payment_problem": payment_problem(user)}
