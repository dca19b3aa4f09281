"""Facts about the request that services need, read in one place."""

from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The address the request came from, which rate limits are keyed by. Views read it
    here and pass it to services; nothing else reads REMOTE_ADDR."""
    return str(request.META.get("REMOTE_ADDR", ""))
