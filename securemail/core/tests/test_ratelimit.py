"""Rate limits (SPEC §6): one table of "count/period" rules, counted per scope and key in
fixed windows."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings as django_settings

from securemail.core import ratelimit

# The start of a minute (and of an hour): windows are aligned to the epoch.
WINDOW_START = datetime(2031, 3, 4, 9, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("10/5m", (10, 300)),
        ("60/m", (60, 60)),
        ("5/h", (5, 3600)),
        ("20/10m", (20, 600)),
        ("3/30s", (3, 30)),
        ("100/d", (100, 86400)),
        ("1/2d", (1, 172800)),
    ],
)
def test_rules_parse(rule: str, expected: tuple[int, int]) -> None:
    assert ratelimit.parse_rule(rule) == expected


@pytest.mark.parametrize("rule", ["", "10", "10/", "/m", "ten/m", "10/5x", "10/m/key", "-1/m"])
def test_malformed_rules_are_refused(rule: str) -> None:
    with pytest.raises(ValueError, match="Bad rate limit rule"):
        ratelimit.parse_rule(rule)


def test_every_configured_limit_parses() -> None:
    for scope, rule in django_settings.SECUREMAIL_RATE_LIMITS.items():
        count, period = ratelimit.parse_rule(rule)
        assert count > 0, scope
        assert period > 0, scope


@pytest.fixture
def three_a_minute(settings: Any) -> str:
    settings.SECUREMAIL_RATE_LIMITS = {**settings.SECUREMAIL_RATE_LIMITS, "test": "3/m"}
    return "test"


def test_limit_trips_after_the_allowed_count(three_a_minute: str) -> None:
    with time_machine.travel(WINDOW_START + timedelta(seconds=15), tick=False):
        for _ in range(3):
            ratelimit.spend(three_a_minute, "user:1")

        with pytest.raises(ratelimit.RateLimited) as caught:
            ratelimit.spend(three_a_minute, "user:1")

    assert caught.value.scope == "test"
    assert caught.value.retry_after == 45


def test_each_key_has_its_own_count(three_a_minute: str) -> None:
    with time_machine.travel(WINDOW_START, tick=False):
        for _ in range(3):
            ratelimit.spend(three_a_minute, "user:1")

        ratelimit.spend(three_a_minute, "user:2")
        ratelimit.spend("lookup", "user:1")
        with pytest.raises(ratelimit.RateLimited):
            ratelimit.spend(three_a_minute, "user:1")


def test_limit_opens_again_in_the_next_window(three_a_minute: str) -> None:
    with time_machine.travel(WINDOW_START + timedelta(seconds=50), tick=False) as clock:
        for _ in range(3):
            ratelimit.spend(three_a_minute, "user:1")
        with pytest.raises(ratelimit.RateLimited):
            ratelimit.spend(three_a_minute, "user:1")

        clock.shift(timedelta(seconds=10))

        ratelimit.spend(three_a_minute, "user:1")


def test_spending_several_keys_charges_each_and_stops_at_the_first_over(
    three_a_minute: str,
) -> None:
    with time_machine.travel(WINDOW_START, tick=False):
        ratelimit.spend(three_a_minute, "ip:1", "email:a", amount=3)
        # The address is spent: refused, whatever the other key.
        with pytest.raises(ratelimit.RateLimited):
            ratelimit.spend(three_a_minute, "ip:1", "email:b")
        # email:b was never reached, so it still has its three.
        ratelimit.spend(three_a_minute, "email:b", amount=3)
        with pytest.raises(ratelimit.RateLimited):
            ratelimit.spend(three_a_minute, "email:b")


def test_unknown_scope_is_a_programming_error() -> None:
    with pytest.raises(KeyError):
        ratelimit.spend("no-such-scope", "user:1")
