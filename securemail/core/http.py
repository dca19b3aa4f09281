"""Facts about the request that services need, read in one place."""

from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse

# The client address of the request being handled (for the audit log's entries).
_client_ip: ContextVar[str | None] = ContextVar("securemail_client_ip", default=None)


def client_ip(request: HttpRequest) -> str:
    """The address the request came from, which rate limits are keyed by. Views read it
    here and pass it to services; nothing else reads REMOTE_ADDR."""
    return str(request.META.get("REMOTE_ADDR", ""))


def current_client_ip() -> str | None:
    """The client address of the request this code runs for (None outside a request:
    the worker, management commands)."""
    return _client_ip.get()


class ClientAddressMiddleware:
    """Makes the request's client address known to the audit log for its duration, so
    every entry an action writes says where it came from without each service passing
    it along."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _client_ip.set(client_ip(request) or None)
        try:
            return self.get_response(request)
        finally:
            _client_ip.reset(token)
