"""Response headers a view states for itself (the site-wide ones are in settings and
core.middleware), and what the browser's answer to them needs from the CSRF check."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse

View = Callable[..., HttpResponse]

# Set on views decorated with no_referrer (functools.wraps carries it through the other
# decorators), for NullOriginOfOwnPagesMiddleware.
NO_REFERRER_ATTRIBUTE = "securemail_no_referrer"


def no_referrer(view: View) -> View:
    """For pages whose URL carries a token (an emailed link), the pages they lead to and
    those that take one: `Referrer-Policy: no-referrer`, so no request the page makes, not
    even to this site, carries the link in its Referer (the site-wide policy is
    same-origin). Their forms then post with `Origin: null`: see
    NullOriginOfOwnPagesMiddleware."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    setattr(wrapper, NO_REFERRER_ATTRIBUTE, True)
    return wrapper


class NullOriginOfOwnPagesMiddleware:
    """Lets the forms of no-referrer pages through Django's CSRF origin check.

    A browser submits a form of a page with `Referrer-Policy: no-referrer` with
    `Origin: null` and no Referer (the Fetch standard), and Django's CsrfViewMiddleware
    refuses a null origin: every form on those pages would fail. For a POST to a view
    decorated with no_referrer whose Origin is null, the browser's own `Sec-Fetch-Site:
    same-origin` (a header no page can set) says it comes from a page of this site: the
    request then carries this site's origin on to the CSRF check, which still checks the
    CSRF token and cookie as for every POST. Listed just before CsrfViewMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    # Django's signature (it passes the view's arguments too).
    def process_view(
        self,
        request: HttpRequest,
        view: View,
        args: Any,  # noqa: ARG002
        kwargs: Any,  # noqa: ARG002
    ) -> HttpResponse | None:
        if (
            getattr(view, NO_REFERRER_ATTRIBUTE, False)
            and request.META.get("HTTP_ORIGIN") == "null"
            and request.META.get("HTTP_SEC_FETCH_SITE") == "same-origin"
        ):
            request.META["HTTP_ORIGIN"] = f"{request.scheme}://{request.get_host()}"
        return None
