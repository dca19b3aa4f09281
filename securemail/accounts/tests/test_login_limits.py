"""The login page: failed logins are limited per client address and per account address
(charged by accounts.services.log_in, never by the form; a login that succeeds is never
charged), and `next` only ever leads back into SecureMail."""

import re
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from securemail.accounts.models import User
from securemail.accounts.tests.helpers import PASSWORD, at_a_window_start, is_logged_in_as
from securemail.core import ratelimit

pytestmark = pytest.mark.django_db

WRONG = "not the password 123"


def _post(client: Client, email: str, password: str, ip: str = "203.0.113.9") -> Any:
    return client.post(
        "/accounts/login/", {"username": email, "password": password}, REMOTE_ADDR=ip
    )


def _allowance(scope: str) -> int:
    return ratelimit.parse_rule(settings.SECUREMAIL_RATE_LIMITS[scope])[0]


def test_logins_that_succeed_are_never_charged(make_user: Any) -> None:
    """An office behind one address: everyone logs in, more people than any login limit
    allows failures, and nobody waits (issue 9: successes were counted)."""
    count = _allowance("login_failed_address") + _allowance("login_failed_account") + 1
    people = [make_user(f"person{n}@example.test") for n in range(count)]

    answers = [_post(Client(), person.email, PASSWORD) for person in people]

    assert [a.status_code for a in answers] == [302] * count
    # One person logging in again and again from one address isn't charged either.
    again = [_post(Client(), people[0].email, PASSWORD) for _ in range(count)]
    assert [a.status_code for a in again] == [302] * count


def test_failed_logins_from_one_address_are_limited_with_a_clear_message(
    make_user: Any, doctor: User
) -> None:
    allowed = _allowance("login_failed_address")
    people = [make_user(f"person{n}@example.test") for n in range(allowed + 1)]
    client = Client()

    with at_a_window_start():
        answers = [_post(client, person.email, WRONG) for person in people]

        assert [a.status_code for a in answers[:allowed]] == [200] * allowed
        assert answers[allowed].status_code == 429
        assert re.search(
            r"Too many login attempts\. Wait \d+ minutes? and try again\.",
            answers[allowed].content.decode(),
        )
        # The refused attempt never reached the password check: nothing counted against it.
        people[allowed].refresh_from_db()
        assert people[allowed].failed_logins == 0
        # From that address even a right password waits (else the limit would tell
        # guessers when they are right); from another address nothing changed.
        assert _post(Client(), doctor.email, PASSWORD).status_code == 429
        assert _post(Client(), doctor.email, PASSWORD, ip="198.51.100.20").status_code == 302


def test_one_account_is_limited_whatever_address_the_attempts_come_from(
    doctor: User,
) -> None:
    with at_a_window_start():
        for n in range(_allowance("login_failed_account")):
            _post(Client(), doctor.email, WRONG, ip=f"198.51.100.{n}")

        refused = _post(Client(), doctor.email, PASSWORD, ip="192.0.2.1")

    assert refused.status_code == 429
    assert "Too many login attempts" in refused.content.decode()


def test_ipv6_addresses_of_one_network_share_their_count(make_user: Any) -> None:
    """A client holding an IPv6 /64 can't take a fresh address for every guess."""
    allowed = _allowance("login_failed_address")
    people = [make_user(f"person{n}@example.test") for n in range(allowed + 1)]

    with at_a_window_start():
        answers = [
            _post(Client(), person.email, WRONG, ip=f"2001:db8:5:7::{n + 1:x}")
            for n, person in enumerate(people)
        ]
        elsewhere = _post(Client(), people[0].email, PASSWORD, ip="2001:db8:5:8::1")

    assert [a.status_code for a in answers] == [200] * allowed + [429]
    assert elsewhere.status_code == 302


def test_a_bad_email_is_refused_by_the_form_without_spending_the_limit(doctor: User) -> None:
    client = Client()
    for _ in range(12):
        response = _post(client, "not an address", WRONG)
        assert response.status_code == 200
        assert "Enter a valid email address" in response.content.decode()

    assert _post(client, doctor.email, PASSWORD).status_code == 302


@pytest.mark.parametrize(
    ("wanted", "lands"),
    [
        ("/sent/", "/sent/"),
        ("https://evil.example/phish", "/"),
        ("//evil.example/", "/"),
        ("", "/"),
    ],
)
def test_next_leads_only_back_into_securemail(doctor: User, wanted: str, lands: str) -> None:
    client = Client()

    response = client.post(
        "/accounts/login/", {"username": doctor.email, "password": PASSWORD, "next": wanted}
    )

    assert response.status_code == 302
    assert response["Location"] == lands
    assert is_logged_in_as(client, doctor)


def test_a_logged_in_person_opening_the_login_page_goes_to_their_inbox(
    login: Any, doctor: User
) -> None:
    response = login(doctor).get("/accounts/login/")

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_logins_are_audited_with_the_client_address(doctor: User) -> None:
    from securemail.audit.models import AuditEvent

    _post(Client(), doctor.email, WRONG, ip="198.51.100.7")
    _post(Client(), doctor.email, PASSWORD, ip="198.51.100.8")

    failed = AuditEvent.objects.get(event="accounts:login:failed")
    succeeded = AuditEvent.objects.get(event="accounts:login:succeeded")
    assert (failed.client_ip, succeeded.client_ip) == ("198.51.100.7", "198.51.100.8")


def test_behind_a_proxy_logins_and_the_lock_are_audited_with_the_forwarded_address(
    settings: Any, doctor: User, staff: User
) -> None:
    from securemail.audit.models import AuditEvent

    settings.SECUREMAIL_TRUSTED_PROXIES = 1

    def through_the_proxy(email: str, password: str, address: str) -> Any:
        # The client claims an address of its own; the proxy appends the real one.
        return Client().post(
            "/accounts/login/",
            {"username": email, "password": password},
            REMOTE_ADDR="10.0.0.5",
            HTTP_X_FORWARDED_FOR=f"127.0.0.1, {address}",
        )

    assert through_the_proxy(doctor.email, PASSWORD, "198.51.100.8").status_code == 302
    for _ in range(5):
        through_the_proxy(staff.email, WRONG, "203.0.113.66")

    addresses = {
        (entry.event, entry.client_ip)
        for entry in AuditEvent.objects.filter(event__startswith="accounts:")
    }
    assert addresses == {
        ("accounts:login:succeeded", "198.51.100.8"),
        ("accounts:login:failed", "203.0.113.66"),
        ("accounts:user:locked", "203.0.113.66"),
    }
