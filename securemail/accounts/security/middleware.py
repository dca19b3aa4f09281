from collections.abc import Callable
from functools import cache

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from securemail.accounts import access
from securemail.accounts.security.session import TWO_STEP_SEEN_KEY


@cache
def _open_prefixes() -> tuple[str, ...]:
    return (
        reverse("accounts:security"),
        reverse("accounts:reauthenticate"),
        reverse("accounts:logout"),
    )


def open_while_setting_up(path: str) -> bool:
    """The pages a person who must set up two-step login reaches before they have: the
    security pages (to set it up), the re-authentication prompt and logging out. Operators
    reach them too, outside the console."""
    return path.startswith(_open_prefixes())


class TwoStepRequiredMiddleware:
    """Operators, and the doctors and staff of a practice that requires it, use two-step
    login (accounts.access.two_step_required): until they have set it up, every other page
    sends them to the security page that does. Goes after AuthenticationMiddleware, before
    the console's OperatorsStayInTheConsole."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not request.session.get(TWO_STEP_SEEN_KEY)
            and not open_while_setting_up(request.path_info)
            and access.two_step_required(user)
        ):
            if access.second_step_needed(user):
                # Checked once per session: two-step login can't be turned off while required.
                request.session[TWO_STEP_SEEN_KEY] = True
            else:
                return HttpResponseRedirect(reverse("accounts:security"))
        return self.get_response(request)
