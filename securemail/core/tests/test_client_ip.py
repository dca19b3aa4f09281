"""The client's address behind our reverse proxies (issue 9): with
SECUREMAIL_TRUSTED_PROXIES = N it is the N-th X-Forwarded-For entry from the right (the
entries our own proxies appended), never one the client wrote; without proxies, or when the
header didn't come through them, REMOTE_ADDR."""

import os
import subprocess
import sys
from typing import Any

import pytest
from django.conf import settings
from django.test import RequestFactory

from securemail.core.http import client_ip

PROXY = "10.0.0.5"


def _ip(forwarded: str | None = None, remote: str = PROXY) -> str:
    meta: dict[str, str] = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_ip(RequestFactory().get("/", **meta))


@pytest.fixture
def one_proxy(settings: Any) -> None:
    settings.SECUREMAIL_TRUSTED_PROXIES = 1


@pytest.fixture
def two_proxies(settings: Any) -> None:
    settings.SECUREMAIL_TRUSTED_PROXIES = 2


def test_without_proxies_the_header_is_never_read() -> None:
    assert settings.SECUREMAIL_TRUSTED_PROXIES == 0
    assert _ip("198.51.100.7", remote="203.0.113.9") == "203.0.113.9"


def test_behind_one_proxy_the_address_it_appended_is_the_clients(one_proxy: None) -> None:
    assert _ip("198.51.100.7") == "198.51.100.7"


@pytest.mark.parametrize(
    "forwarded",
    [
        # The client sent its own X-Forwarded-For; our proxy appended the real address.
        "1.2.3.4, 198.51.100.7",
        "127.0.0.1,198.51.100.7",
        "10.0.0.1, 10.0.0.2, 10.0.0.3, 198.51.100.7",
        # Garbage the client wrote is left of our entry: never read, never a fallback.
        "<script>alert(1)</script>, 198.51.100.7",
        "unknown, , 198.51.100.7",
    ],
)
def test_entries_the_client_wrote_itself_are_ignored(one_proxy: None, forwarded: str) -> None:
    assert _ip(forwarded) == "198.51.100.7"


def test_behind_two_proxies_the_second_entry_from_the_right_is_the_clients(
    two_proxies: None,
) -> None:
    # Client-written, the client (appended by the outer proxy), the outer proxy (appended
    # by the inner one); REMOTE_ADDR is the inner proxy.
    assert _ip("6.6.6.6, 198.51.100.7, 10.0.0.4") == "198.51.100.7"
    assert _ip("198.51.100.7, 10.0.0.4") == "198.51.100.7"


@pytest.mark.parametrize(
    "forwarded",
    [
        None,
        "",
        "   ",
        "not-an-address",
        "198.51.100.7, ",
        "198.51.100.300",
        "198.51.100.7/24",
        "[2001:db8::1",
        "2001:db8::zz",
        "198.51.100.7 198.51.100.8",
    ],
)
def test_a_missing_or_malformed_header_falls_back_to_the_connection(
    one_proxy: None, forwarded: str | None
) -> None:
    assert _ip(forwarded) == PROXY


def test_too_few_entries_for_the_proxies_falls_back_to_the_connection(two_proxies: None) -> None:
    # One proxy appended, the second never saw the request: not our chain.
    assert _ip("198.51.100.7") == PROXY


def test_an_entry_our_proxies_wrote_that_is_malformed_falls_back(two_proxies: None) -> None:
    assert _ip("198.51.100.7, garbage") == PROXY
    assert _ip("garbage, 10.0.0.4") == PROXY


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        ("2001:db8::1", "2001:db8::1"),
        # One spelling per address: a client can't split its count by writing it otherwise.
        ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("::ffff:198.51.100.7", "198.51.100.7"),
        ("198.51.100.7:51234", "198.51.100.7"),
        ("  198.51.100.7  ", "198.51.100.7"),
        ("1.2.3.4, 2001:db8::1", "2001:db8::1"),
    ],
)
def test_ipv6_and_ports_are_read_as_proxies_write_them(
    one_proxy: None, forwarded: str, expected: str
) -> None:
    assert _ip(forwarded) == expected


def _settings_with(proxies: str) -> subprocess.CompletedProcess[str]:
    code = "from django.conf import settings; print(settings.SECUREMAIL_TRUSTED_PROXIES)"
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "securemail.settings_test",
        "SECUREMAIL_TRUSTED_PROXIES": proxies,
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_proxy_count_is_read_from_the_environment_and_a_bad_one_refuses_to_start() -> None:
    good = _settings_with("2")
    bad = [_settings_with(value) for value in ("-1", "one")]

    assert good.returncode == 0, good.stderr
    assert good.stdout.strip() == "2"
    for refused in bad:
        assert refused.returncode != 0
        assert "SECUREMAIL_TRUSTED_PROXIES must be the number of reverse proxies" in refused.stderr
