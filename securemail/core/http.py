"""Facts about the request that services need, read in one place."""

import ipaddress
from collections.abc import Callable
from contextvars import ContextVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse

# The client address of the request being handled (for the audit log's entries).
_client_ip: ContextVar[str | None] = ContextVar("securemail_client_ip", default=None)


def client_ip(request: HttpRequest) -> str:
    """The address the request came from, which rate limits and the audit log are keyed by.
    Views read it here and pass it to services; nothing else reads REMOTE_ADDR or
    X-Forwarded-For.

    With `SECUREMAIL_TRUSTED_PROXIES = N` (the reverse proxies in front of the product),
    each of our proxies appended the address it was connected from to X-Forwarded-For, so
    the client's is the N-th entry from the right; whatever stands left of it the client
    wrote itself and is never read. A header with fewer than N entries, or one of those N
    not an IP address, didn't come through our proxies as configured: REMOTE_ADDR then."""
    remote = str(request.META.get("REMOTE_ADDR", ""))
    proxies = settings.SECUREMAIL_TRUSTED_PROXIES
    if proxies <= 0:
        return remote
    entries = str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")
    if len(entries) < proxies:
        return remote
    ours = [_address(entry) for entry in entries[-proxies:]]
    if any(address is None for address in ours):
        return remote
    return str(ours[0])


def _address(entry: str) -> str | None:
    """One X-Forwarded-For entry as a normalized IP address ("203.0.113.9", "2001:db8::1"),
    or None. Proxies write "1.2.3.4", "1.2.3.4:5678", "2001:db8::1" or "[2001:db8::1]:443";
    one spelling per address, so a client can't split its count by writing it another way."""
    entry = entry.strip()
    if entry.startswith("["):
        host, bracket, _port = entry[1:].partition("]")
        if not bracket:
            return None
        entry = host
    elif entry.count(":") == 1:
        entry = entry.partition(":")[0]
    try:
        address = ipaddress.ip_address(entry)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return str(address.ipv4_mapped)
    return str(address)


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
