from collections.abc import Callable
from functools import cached_property

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from securemail.accounts.access import is_operator
from securemail.accounts.security.middleware import open_while_setting_up


class OperatorsStayInTheConsole:
    """An operator's session reaches the console and nothing else: every other page sends
    them to the console's index, so no practice page ever treats an operator as one of its
    users (and the login page's usual next stop, the inbox, lands them in the console).
    Logging out still works, and so do their own security pages (two-step login, which
    operators must use, and the re-authentication it asks). Goes after
    AuthenticationMiddleware.

    The other direction, practice users kept out of the console, is the console site's
    (console.site.ConsoleSite.admin_view)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.console_prefix = "/" + settings.SECUREMAIL_CONSOLE_PATH

    @cached_property
    def open_paths(self) -> frozenset[str]:
        return frozenset({reverse("accounts:logout")})

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if (
            not path.startswith(self.console_prefix)
            and path not in self.open_paths
            and not open_while_setting_up(path)
            and is_operator(getattr(request, "user", None))
        ):
            return HttpResponseRedirect(reverse("console:index"))
        return self.get_response(request)
