"""Project-wide error pages (wired in securemail.urls)."""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from securemail.accounts.models import User
from securemail.billing.entitlements import PlanRequired
from securemail.billing.errors import NoPlanForThisAccount
from securemail.practices.access import NotPracticeManager, practice_manager


def forbidden(request: HttpRequest, exception: PermissionDenied | None = None) -> HttpResponse:
    """403: why this is closed to the person, and who can open it."""
    context: dict[str, object] = {}
    user = getattr(request, "user", None)
    if isinstance(exception, PlanRequired) and isinstance(user, User):
        context = {"reason": "free", "manager": practice_manager(user)}
    elif isinstance(exception, NotPracticeManager):
        context = {"reason": "manager"}
    elif isinstance(exception, NoPlanForThisAccount):
        context = {"reason": "no_plan"}
    return render(request, "forbidden.html", context, status=403)
