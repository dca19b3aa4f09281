"""Re-authentication before sensitive actions: one decorator for the views that change the
email address, phone, password or two-step settings, buy or cancel plans, export the audit
log (and, later, create API tokens).

A session that logged in (password and second step) or re-authenticated within
limits().fresh_login_minutes goes through; any other is sent to the prompt
(accounts:reauthenticate), which asks the password, or the second step when two-step login
is on, and then goes back: to the same page for a GET, or to `return_to` (else the same
URL) where the person does it again (a POST is not replayed).
"""

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from securemail.accounts.security.session import recently_proved

type View = Callable[..., Any]


def safe_next(wanted: str, default: str = "/") -> str:
    """`wanted` when it is a path on this site (never another host or scheme), else
    `default`."""
    if (
        wanted
        and wanted.startswith("/")
        and url_has_allowed_host_and_scheme(wanted, allowed_hosts=set(), require_https=False)
    ):
        return wanted
    return default


def prompt_url(next_path: str, *, again: bool = False) -> str:
    """The prompt's URL; `again`: the action was a POST, to be sent again afterwards."""
    query = {"next": next_path} | ({"again": "1"} if again else {})
    return f"{reverse('accounts:reauthenticate')}?{urlencode(query)}"


def recent_login_required(return_to: str | None = None) -> Callable[[View], View]:
    """Decorate a view (inside login_required) that needs a recent proof of identity.
    `return_to`: the URL name of the page to come back to after the prompt, where the
    person does it again (default: the action's own URL: a GET comes back to itself, a POST
    to the page its URL shows on GET)."""

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated or recently_proved(request):
                return view(request, *args, **kwargs)
            if return_to:
                back = reverse(return_to)
            elif request.method in {"GET", "HEAD"}:
                back = request.get_full_path()
            else:
                back = request.path
            return HttpResponseRedirect(
                prompt_url(back, again=request.method not in {"GET", "HEAD"} or bool(return_to))
            )

        return guarded

    return decorate
