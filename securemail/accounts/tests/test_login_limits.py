"""The login page: attempts are limited per client address and per account address (the
limit is spent by accounts.services.log_in, never by the form), and `next` only ever leads
back into SecureMail."""

from typing import Any

import pytest
from django.test import Client

from securemail.accounts.models import User
from securemail.accounts.tests.helpers import PASSWORD, is_logged_in_as

pytestmark = pytest.mark.django_db

WRONG = "not the password 123"


def _post(client: Client, email: str, password: str, ip: str = "203.0.113.9") -> Any:
    return client.post(
        "/accounts/login/", {"username": email, "password": password}, REMOTE_ADDR=ip
    )


def test_the_eleventh_attempt_from_one_address_waits_with_a_clear_message(
    make_user: Any,
) -> None:
    people = [make_user(f"person{n}@example.test") for n in range(11)]
    client = Client()

    answers = [_post(client, person.email, WRONG) for person in people]

    assert [a.status_code for a in answers[:10]] == [200] * 10
    assert answers[10].status_code == 429
    assert "Too many login attempts" in answers[10].content.decode()
    # The refused attempt never reached the password check: nothing counted against it.
    people[10].refresh_from_db()
    assert people[10].failed_logins == 0


def test_one_account_is_limited_whatever_address_the_attempts_come_from(
    doctor: User,
) -> None:
    for n in range(10):
        _post(Client(), doctor.email, WRONG, ip=f"198.51.100.{n}")

    refused = _post(Client(), doctor.email, PASSWORD, ip="192.0.2.1")

    assert refused.status_code == 429
    assert "Too many login attempts" in refused.content.decode()


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
