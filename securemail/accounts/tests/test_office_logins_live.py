"""One practice's office logs in at 8 a.m. (issue 9): twenty people behind one address,
through the TLS proxy production needs, within a minute, against a live server over real
HTTP (threads; on PostgreSQL too). Logins that succeed are never charged, and the client
address is the one the proxy forwarded; failures from one address are still limited, and
only that address's.

The proxy is simulated: every request reaches the server from 127.0.0.1 (REMOTE_ADDR, the
proxy's address) with `X-Forwarded-For: <the office's address>`, as one proxy in front
(SECUREMAIL_TRUSTED_PROXIES=1) appends it."""

import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from http.cookiejar import CookieJar
from typing import Any

import pytest

from securemail.accounts.models import User
from securemail.accounts.tests.helpers import at_a_window_start
from securemail.audit.models import AuditEvent
from tests.support import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

OFFICE = "198.51.100.40"
OTHER_OFFICE = "203.0.113.81"
PEOPLE = 20
WRONG = "not the password 123"
# Requests in flight at once, at most: the live server's listen queue holds 10 (Django's
# WSGIServer), past that connections are reset (a real proxy pools its connections).
IN_FLIGHT = threading.BoundedSemaphore(10)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Browser:
    """A browser (its own cookies) at `address`, reaching the server through our proxy."""

    def __init__(self, base: str, address: str) -> None:
        self.base = base
        self.address = address
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirects()
        )

    def request(self, path: str, fields: dict[str, str] | None = None) -> tuple[int, str, str]:
        """(status, Location, body)."""
        data = urllib.parse.urlencode(fields).encode() if fields is not None else None
        request = urllib.request.Request(
            self.base + path, data=data, headers={"X-Forwarded-For": self.address}
        )
        with IN_FLIGHT:
            try:
                with self.opener.open(request, timeout=30) as response:
                    body = response.read().decode()
                    return response.status, response.headers.get("Location", ""), body
            except urllib.error.HTTPError as answer:
                return answer.code, answer.headers.get("Location", ""), answer.read().decode()

    def log_in(self, email: str, password: str) -> tuple[int, str, str]:
        status, _, page = self.request("/accounts/login/")
        assert status == 200, status
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token, "no CSRF token on the login page"
        return self.request(
            "/accounts/login/",
            {"csrfmiddlewaretoken": token.group(1), "username": email, "password": password},
        )


def _all_at_once(jobs: list[Callable[[], Any]]) -> list[Any]:
    """Run every job in a thread of its own, released together; their results in order
    (whatever a job raised fails the test)."""
    results: list[Any] = [None] * len(jobs)
    errors: list[BaseException] = []
    start = threading.Barrier(len(jobs))

    def run(index: int) -> None:
        try:
            start.wait(timeout=30)
            results[index] = jobs[index]()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


@pytest.fixture
def behind_one_proxy(settings: Any) -> None:
    settings.SECUREMAIL_TRUSTED_PROXIES = 1


def test_twenty_people_of_one_practice_log_in_from_one_address_within_a_minute(
    live_server: Any, behind_one_proxy: None, make_user: Any, practice: Any
) -> None:
    people: list[User] = [
        make_user(f"person{n}@brightsmiles.test", full_name=f"Person Number{n}", practice=practice)
        for n in range(PEOPLE)
    ]

    def arrive(person: User) -> Callable[[], tuple[tuple[int, str, str], tuple[int, str, str]]]:
        def job() -> tuple[tuple[int, str, str], tuple[int, str, str]]:
            browser = Browser(live_server.url, OFFICE)
            return browser.log_in(person.email, PASSWORD), browser.request("/")

        return job

    with at_a_window_start():
        started = time.monotonic()
        answers = _all_at_once([arrive(person) for person in people])
        took = time.monotonic() - started

    assert took < 60
    for person, (login, inbox) in zip(people, answers, strict=True):
        assert login[:2] == (302, "/"), (person.email, login[0])
        assert inbox[0] == 200, person.email
        assert person.full_name in inbox[2]
    # The audit log has each login at the office's address (the proxy's is 127.0.0.1).
    logins = AuditEvent.objects.filter(event="accounts:login:succeeded")
    assert sorted(e.actor_id for e in logins) == sorted(p.pk for p in people)
    assert {e.client_ip for e in logins} == {OFFICE}


def test_failed_logins_from_one_address_are_still_limited_and_only_that_addresss(
    live_server: Any, behind_one_proxy: None, settings: Any, doctor: User, other_doctor: User
) -> None:
    from securemail.core import ratelimit

    allowed = ratelimit.parse_rule(settings.SECUREMAIL_RATE_LIMITS["login_failed_address"])[0]
    at_once = 10

    def guess(n: int) -> Callable[[], int]:
        # Other addresses every time: the account's own limit and lock stay out of it.
        return lambda: Browser(live_server.url, OFFICE).log_in(f"guess{n}@example.test", WRONG)[0]

    with at_a_window_start():
        statuses = _all_at_once([guess(n) for n in range(allowed + at_once)])
        refused_by_password = statuses.count(200)
        # Each attempt is checked against the count before it is charged: attempts in
        # flight together may pass the check side by side, never more than were in flight.
        assert allowed <= refused_by_password <= allowed + at_once - 1
        assert statuses.count(429) == len(statuses) - refused_by_password

        # From the office's address even the right password now waits ...
        status, _, page = Browser(live_server.url, OFFICE).log_in(doctor.email, PASSWORD)
        assert status == 429
        assert "Too many login attempts" in page
        # ... while another office behind the same proxy logs in.
        status, location, _ = Browser(live_server.url, OTHER_OFFICE).log_in(
            other_doctor.email, PASSWORD
        )
        assert (status, location) == (302, "/")

    failures = AuditEvent.objects.filter(event="accounts:login:failed")
    assert failures.count() == refused_by_password
    assert {e.client_ip for e in failures} == {OFFICE}
