"""The second registration email's set-password link: weak passwords get clear errors and
leave the account registered; used, altered and expired links get the invalid page."""

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from securemail.accounts.models import User
from securemail.audit.models import AuditEvent
from securemail.onboarding.tests.helpers import INVALID_LINK_TEXT, MAILBOX, register

pytestmark = pytest.mark.django_db

# Not built from the name, so each similarity check is seen on its own.
EMAIL = "new.patient@clinic.test"
STRONG = "Plover-Quartz-9931"


@pytest.fixture
def registered(doctor: User) -> User:
    """An invitee who finished the wizard and has the set-password email."""
    invitee, _ = register(doctor, EMAIL, "patient")
    assert invitee.status == User.Status.REGISTERED
    return invitee


def _link() -> str:
    return MAILBOX.link(EMAIL, "/accounts/password/")


def _open(link: str, client: Client | None = None) -> tuple[Client, Any]:
    client = client or Client()
    return client, client.get(link, follow=True)


def _choose(client: Client, form_url: str, password: str, again: str | None = None) -> Any:
    return client.post(
        form_url, {"new_password1": password, "new_password2": password if again is None else again}
    )


def _assert_still_registered() -> None:
    invitee = User.objects.get(email=EMAIL)
    assert invitee.status == User.Status.REGISTERED
    assert not invitee.has_usable_password()
    assert not AuditEvent.objects.filter(event="accounts:password:set").exists()


@pytest.mark.parametrize(
    ("password", "again", "error"),
    [
        ("password", None, "This password is too common."),
        ("Xy7#q", None, "This password is too short. It must contain at least 8 characters."),
        ("48151623429", None, "This password is entirely numeric."),
        (EMAIL, None, "The password is too similar to the email."),
        ("alexnewman", None, "The password is too similar to the full name."),
        (
            STRONG,
            "Plover-Quartz-9932",
            "The two password fields didn\N{RIGHT SINGLE QUOTATION MARK}t match.",
        ),
    ],
)
def test_a_weak_password_gets_a_clear_error_and_the_account_stays_registered(
    password: str, again: str | None, error: str, registered: User
) -> None:
    client, page = _open(_link())
    form_url = page.redirect_chain[-1][0]

    response = _choose(client, form_url, password, again)

    assert response.status_code == 400
    assert error in response.content.decode().replace("&#x27;", "'")
    _assert_still_registered()
    # The link is not spent by a refused password.
    assert _choose(client, form_url, STRONG).status_code == 302
    assert User.objects.get(email=EMAIL).status == User.Status.ACTIVE


def test_the_link_leaves_the_address_bar_before_the_form_is_shown(registered: User) -> None:
    link = _link()

    _, page = _open(link)

    form_url = page.redirect_chain[-1][0]
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert token not in form_url
    assert "Set your password" in page.content.decode()
    _assert_still_registered()


def test_a_used_link_gets_the_invalid_page(registered: User) -> None:
    link = _link()
    client, page = _open(link)
    assert _choose(client, page.redirect_chain[-1][0], STRONG).status_code == 302

    for browser in (client, Client()):
        _, again = _open(link, browser)
        assert again.status_code == 404
        assert INVALID_LINK_TEXT in again.content.decode()
        assert b'href="/accounts/password/"' in again.content
        assert b"new_password1" not in again.content
    assert AuditEvent.objects.filter(event="accounts:password:set").count() == 1


@pytest.mark.parametrize("part", ["token", "uid"])
def test_an_altered_link_gets_the_invalid_page(part: str, registered: User) -> None:
    prefix, uid, token = _link().rstrip("/").rsplit("/", 2)
    if part == "token":
        token = token[:-1] + ("a" if token[-1] != "a" else "b")
    else:
        uid = "MTIzNDU2Nzg5"
    client, page = _open(f"{prefix}/{uid}/{token}/")

    assert page.status_code == 404
    assert INVALID_LINK_TEXT in page.content.decode()
    assert b"new_password1" not in page.content
    # Posting a password anyway changes nothing.
    _choose(client, f"{prefix}/{uid}/set-password/", STRONG)
    _assert_still_registered()


def test_a_link_older_than_a_day_gets_the_invalid_page(registered: User) -> None:
    link = _link()

    with time_machine.travel(timezone.now() + timedelta(hours=24, minutes=5)):
        _, page = _open(link)

    assert page.status_code == 404
    assert INVALID_LINK_TEXT in page.content.decode()
    _assert_still_registered()


def test_setting_the_password_ends_every_other_link(registered: User) -> None:
    first = _link()
    # An hour later the person asks for another link, and uses that one.
    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        Client().post("/register/link/", {"email": EMAIL})
        second = _link()
        client, page = _open(second)
        _choose(client, page.redirect_chain[-1][0], STRONG)
        _, old = _open(first)

    assert first != second

    assert INVALID_LINK_TEXT in old.content.decode()
    assert User.objects.get(email=EMAIL).check_password(STRONG)
