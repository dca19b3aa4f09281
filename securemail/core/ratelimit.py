"""Fixed-window rate limits kept in the cache; every limit is named in
`settings.SECUREMAIL_RATE_LIMITS` ("count/period", period like 5m, h, 1d).

Limits are spent by services only, through `spend` (or `check` first and `spend` what
failed): views pass the client's address in (securemail.core.http.client_ip), forms never
charge anything.
"""

import hashlib
import ipaddress
import re
import time

from django.conf import settings
from django.core.cache import cache

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RULE = re.compile(r"^(\d+)/(\d*)([smhd])$")


class RateLimited(Exception):
    def __init__(self, scope: str, retry_after: int) -> None:
        super().__init__(scope)
        self.scope = scope
        self.retry_after = retry_after


def parse_rule(rule: str) -> tuple[int, int]:
    match = _RULE.match(rule)
    if not match:
        raise ValueError(f"Bad rate limit rule: {rule!r}")
    count, amount, unit = match.groups()
    return int(count), int(amount or 1) * _UNITS[unit]


def spend(scope: str, *keys: str, amount: int = 1) -> None:
    """Charge `amount` attempts to each of `keys` under the limit named `scope` (e.g. the
    client's address and the account's email); RateLimited as soon as one is over it."""
    for key in keys:
        _consume(scope, key, amount)


def check(scope: str, *keys: str) -> None:
    """RateLimited when one of `keys` has already used up its allowance under `scope`;
    charges nothing. For limits that charge only what went wrong (failed logins): check
    first, spend after a failure."""
    for key in keys:
        cache_key, limit, _period, retry_after = _window(scope, key)
        if int(cache.get(cache_key, 0)) >= limit:
            raise RateLimited(scope, retry_after=retry_after)


def address_key(client_ip: str) -> str:
    """What a limit per client address counts: the address, or for IPv6 its /64 network
    (one site's, or one customer's, prefix: a client holding a /64 could otherwise take a
    fresh address for every attempt)."""
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return client_ip
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def _window(scope: str, key: str) -> tuple[str, int, int, int]:
    """The cache key counting (scope, key) in the current window, the limit, the period and
    the seconds until the window ends."""
    limit, period = parse_rule(settings.SECUREMAIL_RATE_LIMITS[scope])
    now = int(time.time())
    window = now // period
    digest = hashlib.sha256(f"{scope}|{key}".encode()).hexdigest()[:32]
    return f"rl:{scope}:{digest}:{window}", limit, period, period - (now % period)


def _consume(scope: str, key: str, amount: int) -> None:
    """Count `amount` attempts for (scope, key) at once (one cache round trip, not one per
    attempt); raise RateLimited when over the limit."""
    cache_key, limit, period, retry_after = _window(scope, key)
    cache.add(cache_key, 0, timeout=period + 1)
    try:
        count = cache.incr(cache_key, amount)
    except ValueError:
        cache.set(cache_key, amount, timeout=period + 1)
        count = amount
    if count > limit:
        raise RateLimited(scope, retry_after=retry_after)
