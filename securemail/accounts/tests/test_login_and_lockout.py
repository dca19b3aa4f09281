"""Logging in (SPEC §1, §6): the email is compared without case, and five wrong passwords
lock the account until a password link or an unlock."""

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from securemail.accounts.models import User
from securemail.accounts.tests.helpers import is_logged_in_as, log_in
from securemail.audit.models import AuditEvent
from tests.support import PASSWORD

pytestmark = pytest.mark.django_db

WRONG = "not the password 123"
REFUSED = "don&#x27;t match an active account"


def test_right_password_logs_in_and_is_audited(client: Client, doctor: User) -> None:
    response = log_in(client, doctor.email)

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert is_logged_in_as(client, doctor)
    assert b"Dr. Jane Roe" in client.get("/").content
    event = AuditEvent.objects.get(event="accounts:login:succeeded")
    assert event.actor_id == doctor.pk


def test_login_ignores_the_case_of_the_email(client: Client, doctor: User) -> None:
    response = log_in(client, "  Jane.ROE@BrightSmiles.TEST ")

    assert response.status_code == 302
    assert is_logged_in_as(client, doctor)


def test_wrong_password_is_refused_with_a_message(client: Client, doctor: User) -> None:
    response = log_in(client, doctor.email, WRONG)

    assert response.status_code == 200
    assert REFUSED in response.content.decode()
    assert not is_logged_in_as(client, doctor)
    doctor.refresh_from_db()
    assert doctor.failed_logins == 1
    assert doctor.locked_at is None
    assert AuditEvent.objects.filter(event="accounts:login:failed", actor=doctor).count() == 1


def test_five_wrong_passwords_lock_the_account(client: Client, doctor: User) -> None:
    for _ in range(5):
        response = log_in(client, doctor.email, WRONG)
        assert response.status_code == 200

    doctor.refresh_from_db()
    assert doctor.locked_at is not None
    assert doctor.failed_logins == 5
    [locked] = AuditEvent.objects.filter(event="accounts:user:locked")
    assert locked.target == f"user:{doctor.pk}"

    # Now even the right password fails, with the message that tells how to unlock.
    response = log_in(client, doctor.email, PASSWORD)
    assert response.status_code == 200
    assert REFUSED in response.content.decode()
    assert "Forgot your password?" in response.content.decode()
    assert not is_logged_in_as(client, doctor)
    assert not AuditEvent.objects.filter(event="accounts:login:succeeded").exists()
    assert AuditEvent.objects.filter(event="accounts:user:locked").count() == 1


def test_four_wrong_passwords_then_the_right_one_start_the_count_again(
    client: Client, doctor: User
) -> None:
    for _ in range(4):
        log_in(client, doctor.email, WRONG)

    assert log_in(client, doctor.email).status_code == 302
    doctor.refresh_from_db()
    assert doctor.failed_logins == 0

    other = Client()
    for _ in range(4):
        log_in(other, doctor.email, WRONG)
    doctor.refresh_from_db()
    assert doctor.locked_at is None


def test_locking_ends_sessions_already_open(client: Client, login: Any, staff: User) -> None:
    logged_in = login(staff)
    assert logged_in.get("/").status_code == 200

    attacker = Client()
    for _ in range(5):
        log_in(attacker, staff.email, WRONG)

    response = logged_in.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_deactivating_an_account_ends_its_sessions(login: Any, staff: User) -> None:
    logged_in = login(staff)
    User.objects.filter(pk=staff.pk).update(is_active=False)

    response = logged_in.get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_wrong_passwords_for_an_unknown_address_lock_nothing(client: Client, doctor: User) -> None:
    for _ in range(5):
        response = log_in(client, "nobody@nowhere.test", WRONG)
        assert response.status_code == 200
        assert REFUSED in response.content.decode()

    assert not AuditEvent.objects.filter(event="accounts:user:locked").exists()
    assert log_in(client, doctor.email).status_code == 302


def test_invited_account_cannot_log_in(client: Client, make_user: Any) -> None:
    make_user("ivy.invited@example.test", status=User.Status.INVITED)

    response = log_in(client, "ivy.invited@example.test")

    assert response.status_code == 200
    assert REFUSED in response.content.decode()


def test_an_unlocked_accounts_sessions_are_keyed_as_djangos_own(staff: User) -> None:
    """The lock's part of the session hash is there only while locked: sessions opened
    before it existed (Django's hash of the password) stay open."""
    from django.contrib.auth.base_user import AbstractBaseUser

    assert staff.get_session_auth_hash() == AbstractBaseUser.get_session_auth_hash(staff)
    staff.locked_at = timezone.now()
    assert staff.get_session_auth_hash() != AbstractBaseUser.get_session_auth_hash(staff)
