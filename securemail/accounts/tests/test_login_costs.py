"""Every failed login costs the same (issue 9: a wrong password for an invited or locked
account answered in 50 ms, for an unknown or active one in 300 ms, so timing told who was
invited). Counted, not timed: each failed path runs exactly one password verification, of
the configured hasher at its configured cost, whatever the account behind the address."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from securemail.accounts.models import User
from securemail.accounts.tests.hashers import CountingArgon2PasswordHasher
from securemail.accounts.tests.helpers import is_logged_in_as, log_in
from tests.support import PASSWORD

pytestmark = pytest.mark.django_db

WRONG = "not the password 123"
REFUSED = "don&#x27;t match an active account"
EMAIL = "kim.case@brightsmiles.test"


@pytest.fixture
def hasher(settings: Any) -> Iterator[CountingArgon2PasswordHasher]:
    settings.PASSWORD_HASHERS = ["securemail.accounts.tests.hashers.CountingArgon2PasswordHasher"]
    CountingArgon2PasswordHasher.verified.clear()
    yield CountingArgon2PasswordHasher()
    CountingArgon2PasswordHasher.verified.clear()


def _without_password(**fields: Any) -> Callable[[Any], None]:
    def make(make_user: Any) -> None:
        user = make_user(EMAIL, **fields)
        user.set_unusable_password()
        user.save(update_fields=["password"])

    return make


def _with_password(**fields: Any) -> Callable[[Any], None]:
    return lambda make_user: make_user(EMAIL, **fields)


PATHS: dict[str, tuple[Callable[[Any], None], str]] = {
    "unknown address": (lambda make_user: None, WRONG),
    "invited, no password yet": (_without_password(status=User.Status.INVITED), WRONG),
    "registration started": (_without_password(status=User.Status.STARTED), WRONG),
    "registered, password not set": (_without_password(status=User.Status.REGISTERED), WRONG),
    "locked, wrong password": (_with_password(locked_at=timezone.now(), failed_logins=5), WRONG),
    "locked, right password": (
        _with_password(locked_at=timezone.now(), failed_logins=5),
        PASSWORD,
    ),
    "inactive, wrong password": (_with_password(is_active=False), WRONG),
    "inactive, right password": (_with_password(is_active=False), PASSWORD),
    "active, wrong password": (_with_password(), WRONG),
}


@pytest.mark.parametrize("path", list(PATHS))
def test_every_failed_login_runs_exactly_one_verification_of_the_configured_hasher(
    hasher: CountingArgon2PasswordHasher, make_user: Any, path: str
) -> None:
    make_account, password = PATHS[path]
    make_account(make_user)
    client = Client()
    CountingArgon2PasswordHasher.verified.clear()

    response = log_in(client, EMAIL, password)

    assert response.status_code == 200
    assert REFUSED in response.content.decode()
    assert CountingArgon2PasswordHasher.verified == [hasher.cost()]


def test_a_wrong_password_from_a_known_browser_costs_the_same(
    hasher: CountingArgon2PasswordHasher, doctor: User
) -> None:
    owner = Client()
    assert log_in(owner, doctor.email).status_code == 302
    owner.post("/accounts/logout/")
    CountingArgon2PasswordHasher.verified.clear()

    assert REFUSED in log_in(owner, doctor.email, WRONG).content.decode()

    assert CountingArgon2PasswordHasher.verified == [hasher.cost()]


def test_a_login_that_succeeds_verifies_once(
    hasher: CountingArgon2PasswordHasher, doctor: User
) -> None:
    client = Client()

    assert log_in(client, doctor.email).status_code == 302

    assert is_logged_in_as(client, doctor)
    assert CountingArgon2PasswordHasher.verified == [hasher.cost()]


def test_the_stand_in_hash_follows_the_configured_cost(
    settings: Any, hasher: CountingArgon2PasswordHasher
) -> None:
    assert REFUSED in log_in(Client(), "nobody@nowhere.test", WRONG).content.decode()
    CountingArgon2PasswordHasher.verified.clear()

    # An operator raises the cost: unknown addresses cost what new passwords now cost.
    CountingArgon2PasswordHasher.time_cost = 2
    try:
        assert REFUSED in log_in(Client(), "nobody@nowhere.test", WRONG).content.decode()
        assert CountingArgon2PasswordHasher.verified == [hasher.cost()]
        assert hasher.cost()[2] == 2
    finally:
        CountingArgon2PasswordHasher.time_cost = 1
