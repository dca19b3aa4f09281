"""Fixed-window rate limits kept in the cache; every limit is named in
`settings.SECUREMAIL_RATE_LIMITS` ("count/period", period like 5m, h, 1d).

Limits are spent by services only, through `spend`: views pass the client's address in
(securemail.core.http.client_ip), forms never charge anything.
"""

import hashlib
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


def _consume(scope: str, key: str, amount: int) -> None:
    """Count `amount` attempts for (scope, key) at once (one cache round trip, not one per
    attempt); raise RateLimited when over the limit."""
    limit, period = parse_rule(settings.SECUREMAIL_RATE_LIMITS[scope])
    now = int(time.time())
    window = now // period
    digest = hashlib.sha256(f"{scope}|{key}".encode()).hexdigest()[:32]
    cache_key = f"rl:{scope}:{digest}:{window}"
    cache.add(cache_key, 0, timeout=period + 1)
    try:
        count = cache.incr(cache_key, amount)
    except ValueError:
        cache.set(cache_key, amount, timeout=period + 1)
        count = amount
    if count > limit:
        raise RateLimited(scope, retry_after=period - (now % period))
