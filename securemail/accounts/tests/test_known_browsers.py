"""The lock without locking out the owner (issue 9, OWASP's device cookies): five wrong
passwords still lock an account, but only for browsers that never logged in to it. The
owner's own browser (it has the signed cookie a login leaves) keeps logging in with the
right password, and its wrong passwords count against that browser alone."""

import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core import signing
from django.test import Client
from django.utils import timezone

from securemail.accounts import devices, services
from securemail.accounts.models import User
from securemail.accounts.tests.helpers import (
    NEW_PASSWORD,
    at_a_window_start,
    is_logged_in_as,
    log_in,
)
from securemail.audit.models import AuditEvent
from tests.support import PASSWORD

pytestmark = pytest.mark.django_db

WRONG = "not the password 123"
REFUSED = "don&#x27;t match an active account"
TO_UNLOCK = "use “Forgot your password?” to unlock it"


def _owners_browser(user: User) -> Client:
    """A browser that has logged in to `user`'s account before (and logged out since)."""
    browser = Client()
    assert log_in(browser, user.email).status_code == 302
    assert browser.post("/accounts/logout/").status_code == 302
    assert not is_logged_in_as(browser, user)
    return browser


def _lock_from_an_unknown_browser(user: User) -> None:
    attacker = Client()
    for _ in range(5):
        assert log_in(attacker, user.email, WRONG).status_code == 200
    user.refresh_from_db()
    assert user.locked_at is not None


def _refused(response: Any) -> bool:
    page = response.content.decode()
    return response.status_code == 200 and REFUSED in page and TO_UNLOCK in page


def test_a_login_leaves_a_signed_http_only_cookie_for_the_login_page_only(doctor: User) -> None:
    browser = Client()

    response = log_in(browser, doctor.email)

    cookie = response.cookies[devices.COOKIE_NAME]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == "/accounts/login/"
    assert cookie["max-age"] == 365 * 86400
    # Secure only with DEBUG off (the tests run with it on, over plain HTTP).
    assert not cookie["secure"]


def test_the_cookie_is_secure_in_production(settings: Any, doctor: User) -> None:
    settings.SESSION_COOKIE_SECURE = True

    response = log_in(Client(), doctor.email)

    assert response.cookies[devices.COOKIE_NAME]["secure"] is True


def test_the_cookie_holds_ids_only(doctor: User) -> None:
    response = log_in(Client(), doctor.email)
    value = response.cookies[devices.COOKIE_NAME].value

    [entry] = signing.loads(value, salt="securemail.accounts.devices")
    assert set(entry) == {"u", "b", "s", "t"}
    assert entry["u"] == doctor.pk
    for secret in (doctor.email, "jane", "roe", PASSWORD, doctor.password):
        assert secret.lower() not in value.lower()
        assert secret.lower() not in str(entry).lower()


def test_an_attacker_locks_the_account_but_the_owners_browser_still_logs_in(
    doctor: User,
) -> None:
    owner = _owners_browser(doctor)
    assert log_in(owner, doctor.email).status_code == 302

    _lock_from_an_unknown_browser(doctor)

    # The lock ends the session that was open (as before) ...
    assert owner.get("/").status_code == 302
    assert not is_logged_in_as(owner, doctor)

    # Any other browser is refused even with the right password, told how to unlock.
    stranger = Client()
    assert _refused(log_in(stranger, doctor.email))
    assert not is_logged_in_as(stranger, doctor)
    # ... and the owner's browser logs in again, and its new session works on every page.
    response = log_in(owner, doctor.email)
    assert response.status_code == 302
    assert is_logged_in_as(owner, doctor)
    for _ in range(2):
        assert b"Dr. Jane Roe" in owner.get("/").content
    succeeded = AuditEvent.objects.filter(event="accounts:login:succeeded").order_by("-id")[0]
    assert (succeeded.actor_id, succeeded.data) == (doctor.pk, {"browser": "known"})
    # The lock stays for everyone else: the owner logging in doesn't lift it.
    doctor.refresh_from_db()
    assert doctor.locked_at is not None
    assert _refused(log_in(Client(), doctor.email))
    # The attempts on the locked account are in the log too.
    assert AuditEvent.objects.filter(
        event="accounts:login:failed", actor=doctor, data={"locked": True}
    ).exists()


def test_wrong_passwords_from_the_owners_browser_count_against_that_browser_only(
    doctor: User,
) -> None:
    owner = _owners_browser(doctor)

    for _ in range(4):
        assert _refused(log_in(owner, doctor.email, WRONG))

    doctor.refresh_from_db()
    assert (doctor.failed_logins, doctor.locked_at) == (0, None)
    failed = AuditEvent.objects.filter(event="accounts:login:failed", actor=doctor)
    assert [entry.data for entry in failed] == [{"browser": "known"}] * 4
    assert log_in(owner, doctor.email).status_code == 302


def test_a_known_browser_that_keeps_failing_is_refused_for_a_while_but_the_account_is_not(
    doctor: User,
) -> None:
    with at_a_window_start():
        owner = _owners_browser(doctor)
        for _ in range(5):
            assert _refused(log_in(owner, doctor.email, WRONG))

        # The sixth try from that browser waits, even with the right password.
        response = log_in(owner, doctor.email)
        assert response.status_code == 429
        assert re.search(
            r"Too many wrong passwords from this browser\. Wait \d+ minutes? and try again, "
            r"or use “Forgot your password\?” to set a new one\.",
            response.content.decode(),
        )
        assert not is_logged_in_as(owner, doctor)
        # Nobody else is locked out by it.
        doctor.refresh_from_db()
        assert (doctor.failed_logins, doctor.locked_at) == (0, None)
        elsewhere = Client()
        assert log_in(elsewhere, doctor.email).status_code == 302
        # And it waits only for a while: the next hour it logs in again.
        with time_machine.travel(timezone.now() + timedelta(hours=1)):
            assert log_in(owner, doctor.email).status_code == 302


def test_a_tampered_cookie_gives_no_way_past_the_lock(doctor: User, staff: User) -> None:
    owner = _owners_browser(doctor)
    genuine = owner.cookies[devices.COOKIE_NAME].value
    _lock_from_an_unknown_browser(doctor)
    payload, _, signature = genuine.rpartition(":")
    forged = [
        # One character of the signature changed.
        f"{payload}:{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}",
        # Signed for another purpose (Django's signing with another salt).
        signing.dumps([{"u": doctor.pk, "b": "x", "s": "0" * 32, "t": 2_000_000_000}]),
        # Garbage, and an empty value.
        "not a cookie",
        "",
        "x" * 5000,
    ]

    for value in forged:
        browser = Client()
        browser.cookies[devices.COOKIE_NAME] = value
        assert _refused(log_in(browser, doctor.email)), value
        assert not is_logged_in_as(browser, doctor)


def test_another_accounts_cookie_gives_no_way_past_the_lock(doctor: User, staff: User) -> None:
    staffs_browser = _owners_browser(staff)
    _lock_from_an_unknown_browser(doctor)

    assert _refused(log_in(staffs_browser, doctor.email))
    assert not is_logged_in_as(staffs_browser, doctor)
    # Its wrong passwords for the doctor counted as a stranger's: none was spent on the
    # staff member's own allowance in that browser.
    assert log_in(staffs_browser, staff.email).status_code == 302


def test_a_browser_several_people_use_knows_each_of_them(
    doctor: User, staff: User, free_staff: User
) -> None:
    front_desk = Client()
    for person in (doctor, staff, free_staff):
        assert log_in(front_desk, person.email).status_code == 302
        front_desk.post("/accounts/logout/")
    for person in (doctor, staff, free_staff):
        _lock_from_an_unknown_browser(person)

    for person in (doctor, staff, free_staff):
        assert log_in(front_desk, person.email).status_code == 302, person.email
        assert is_logged_in_as(front_desk, person)
        front_desk.post("/accounts/logout/")


def test_a_password_reset_forgets_every_browser_known_before(doctor: User) -> None:
    owner = _owners_browser(doctor)

    # A reset sets a new password (and unlocks); someone locks the account again.
    services.set_password(user=doctor, password=NEW_PASSWORD)
    _lock_from_an_unknown_browser(doctor)

    # The browser knew the account under the old password: now it is a stranger.
    assert _refused(log_in(owner, doctor.email, NEW_PASSWORD))
    assert not is_logged_in_as(owner, doctor)


def test_a_browser_is_known_for_a_year(doctor: User) -> None:
    owner = _owners_browser(doctor)
    _lock_from_an_unknown_browser(doctor)

    with time_machine.travel(timezone.now() + timedelta(days=364)):
        assert log_in(owner, doctor.email).status_code == 302
        owner.post("/accounts/logout/")
    # Logging in renewed it for a year from then; after that year it is forgotten.
    with time_machine.travel(timezone.now() + timedelta(days=364 + 366)):
        assert _refused(log_in(owner, doctor.email))


def test_a_known_browser_opens_no_account_that_is_not_open(doctor: User) -> None:
    owner = _owners_browser(doctor)
    User.objects.filter(pk=doctor.pk).update(is_active=False)

    assert _refused(log_in(owner, doctor.email))
    assert not is_logged_in_as(owner, doctor)


# --- with two-step login on: the second step is part of the login the cookie follows --------


def test_a_known_browser_gets_past_the_lock_through_the_second_step_and_stays_known(
    doctor: User,
) -> None:
    from securemail.accounts.models import TwoStepMethod
    from securemail.accounts.tests.twostep import (
        code_at,
        fresh_code,
        post_code,
        post_password,
        turn_on_app,
    )

    secret = turn_on_app(doctor)
    owner = Client()
    assert post_password(owner, doctor.email).status_code == 302
    # The cookie comes with the end of the login, after the second step.
    assert devices.COOKIE_NAME not in owner.cookies
    finished = post_code(owner, TwoStepMethod.APP, fresh_code(secret))
    assert finished.status_code == 302
    assert owner.cookies[devices.COOKIE_NAME].value
    assert owner.post("/accounts/logout/").status_code == 302

    _lock_from_an_unknown_browser(doctor)

    # A stranger with the right password is refused before any second step.
    stranger = Client()
    assert _refused(post_password(stranger, doctor.email))
    assert not is_logged_in_as(stranger, doctor)
    # The owner's browser: the password, then the code, and in.
    assert post_password(owner, doctor.email)["Location"] == "/accounts/login/second-step/"
    with time_machine.travel(timezone.now() + timedelta(seconds=60)):
        assert post_code(owner, TwoStepMethod.APP, code_at(secret)).status_code == 302
        assert is_logged_in_as(owner, doctor)
    doctor.refresh_from_db()
    assert doctor.locked_at is not None  # still locked for everyone else
