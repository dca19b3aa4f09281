"""Issue 10: re-authentication before sensitive actions. A login (or a fresh second step)
within the last 10 minutes lets them through; otherwise a prompt (the password, or the
second step when two-step login is on), then back to the action."""

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from securemail.accounts.models import User
from securemail.accounts.tests.twostep import fresh_code, turn_on_app
from securemail.audit.models import AuditEvent
from securemail.billing.models import Subscription
from securemail.billing.tests.helpers import buy
from tests.support import PASSWORD

pytestmark = pytest.mark.django_db

LATER = timedelta(minutes=11)
PROMPT = "/accounts/reauthenticate/"

# Every sensitive action, by method and URL (a "{sub}" is the member's plan, "{member}" the
# practice member's id): each must ask again after 10 minutes.
SENSITIVE = [
    ("GET", "/accounts/security/email/"),
    ("POST", "/accounts/security/email/"),
    ("GET", "/accounts/security/phone/"),
    ("GET", "/accounts/security/password/"),
    ("POST", "/accounts/security/password/"),
    ("GET", "/accounts/security/app/"),
    ("GET", "/accounts/security/text/"),
    ("POST", "/accounts/security/text/send/"),
    ("POST", "/accounts/security/app/remove/"),
    ("POST", "/accounts/security/method/"),
    ("POST", "/accounts/security/recovery-codes/"),
    ("POST", "/accounts/security/off/"),
    ("POST", "/billing/buy/"),
    ("POST", "/billing/plans/{sub}/cancel/"),
    ("POST", "/practice/people/{member}/plan/buy/"),
    ("POST", "/practice/people/{member}/plan/cancel/"),
    ("POST", "/practice/people/two-step/"),
    ("GET", "/practice/audit/log.csv?first_day=2026-11-01&last_day=2026-11-30"),
]


@pytest.mark.parametrize(("method", "url"), SENSITIVE)
def test_a_sensitive_action_after_ten_minutes_asks_again(
    login: Any, doctor: User, staff: User, method: str, url: str
) -> None:
    client = login(doctor)
    url = url.format(sub="00000000-0000-0000-0000-000000000000", member=staff.pk)

    with time_machine.travel(timezone.now() + LATER):
        response = client.get(url) if method == "GET" else client.post(url, {})

    assert response.status_code == 302
    assert response["Location"].startswith(f"{PROMPT}?next=")


def test_a_recent_login_goes_straight_through(login: Any, doctor: User) -> None:
    client = login(doctor)

    with time_machine.travel(timezone.now() + timedelta(minutes=9)):
        response = client.get("/accounts/security/email/")

    assert response.status_code == 200


def test_the_password_prompt_goes_back_to_the_page(login: Any, doctor: User) -> None:
    client = login(doctor)
    with time_machine.travel(timezone.now() + LATER):
        start = client.get("/accounts/security/email/")
        prompt = client.get(start["Location"])
        assert "Your password" in prompt.content.decode()

        done = client.post(start["Location"], {"password": PASSWORD})

        assert done.status_code == 302
        assert done["Location"] == "/accounts/security/email/"
        assert client.get("/accounts/security/email/").status_code == 200
    assert AuditEvent.objects.filter(event="accounts:session:reauthenticate", actor=doctor).exists()


def test_a_wrong_password_at_the_prompt_counts_towards_the_lock(login: Any, doctor: User) -> None:
    client = login(doctor)
    with time_machine.travel(timezone.now() + LATER):
        for _ in range(4):
            wrong = client.post(PROMPT, {"password": "not it at all 1", "next": "/"})
            assert wrong.status_code == 400
            assert "password is not right" in wrong.content.decode()

        locked = client.post(PROMPT, {"password": "not it at all 1", "next": "/"})

    doctor.refresh_from_db()
    assert doctor.locked_at is not None
    assert locked["Location"] == "/accounts/login/"
    assert client.get("/").status_code == 302
    assert AuditEvent.objects.filter(event="accounts:session:reauthenticate_failed").count() == 5


def test_with_two_step_on_the_prompt_asks_the_second_step(login: Any, doctor: User) -> None:
    secret = turn_on_app(doctor)
    client = login(doctor)
    with time_machine.travel(timezone.now() + LATER):
        prompt = client.get(f"{PROMPT}?next=/accounts/security/password/")
        page = prompt.content.decode()
        assert "authenticator app" in page
        assert "Your password" not in page
        assert "Use a recovery code" in page

        done = client.post(
            PROMPT,
            {"method": "app", "code": fresh_code(secret), "next": "/accounts/security/password/"},
        )

        assert done["Location"] == "/accounts/security/password/"
        assert client.get("/accounts/security/password/").status_code == 200


def test_the_prompt_never_sends_anyone_to_another_site(login: Any, doctor: User) -> None:
    client = login(doctor)

    for wanted in ["https://evil.test/", "//evil.test/x", "/\\evil.test", "javascript:alert(1)"]:
        done = client.post(PROMPT, {"password": PASSWORD, "next": wanted})
        assert done.status_code == 302
        assert done["Location"] == "/accounts/security/", wanted


def test_after_a_post_the_prompt_goes_back_to_the_page_of_the_action(
    login: Any, free_staff: User
) -> None:
    client = login(free_staff)
    with time_machine.travel(timezone.now() + LATER):
        refused = client.post("/billing/buy/", {"plan": "monthly"})
        assert refused["Location"] == f"{PROMPT}?next=%2Fbilling%2F&again=1"
        assert not Subscription.objects.exists()

        done = client.post(refused["Location"], {"password": PASSWORD})

        assert done["Location"] == "/billing/"
        assert "Now do what you started once more" in client.get("/billing/").content.decode()
        assert client.post("/billing/buy/", {"plan": "monthly"}).status_code == 302


def test_a_purchase_with_a_recent_login_works(login: Any, free_staff: User) -> None:
    client = login(free_staff)

    page = buy(client, "monthly")

    assert page.status_code == 200
    assert Subscription.objects.filter(member=free_staff, status="active").exists()


def test_the_prompt_is_rate_limited(settings: Any, login: Any, doctor: User) -> None:
    settings.SECUREMAIL_RATE_LIMITS = {**settings.SECUREMAIL_RATE_LIMITS, "reauthenticate": "2/5m"}
    settings.SECUREMAIL_MAX_FAILED_LOGINS = 50
    client = login(doctor)
    client.post(PROMPT, {"password": "wrong one 1"})
    client.post(PROMPT, {"password": "wrong one 2"})

    response = client.post(PROMPT, {"password": PASSWORD})

    assert response.status_code == 429


def test_anonymous_visitors_get_the_login_page(client: Client) -> None:
    assert client.get(PROMPT)["Location"].startswith("/accounts/login/")
    assert client.get("/accounts/security/email/")["Location"].startswith("/accounts/login/")


def test_a_second_step_at_login_counts_as_recent(client: Client, doctor: User) -> None:
    secret = turn_on_app(doctor)
    client.post("/accounts/login/", {"username": doctor.email, "password": PASSWORD})
    client.post("/accounts/login/second-step/", {"method": "app", "code": fresh_code(secret)})

    assert client.get("/accounts/security/password/").status_code == 200
