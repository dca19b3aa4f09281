"""Unlocking a member's account from the user manager's page: the lock and the count of
wrong passwords are cleared (audited), and the password they had works again."""

from typing import Any

import pytest
from django.test import Client

from securemail.accounts.models import User
from securemail.accounts.tests.helpers import is_logged_in_as, log_in
from securemail.practices.tests.helpers import (
    PEOPLE,
    action_url,
    entries,
    lock,
    row,
    text,
)

pytestmark = pytest.mark.django_db

UNLOCKED = "practices:user:unlock"


def _unlock(client: Client, user: User) -> Any:
    return client.post(action_url(user, "unlock"))


def test_the_manager_unlocks_a_locked_account_and_its_password_works_again(
    login: Any, doctor: User, staff: User
) -> None:
    lock(staff)
    locked_out = Client()
    log_in(locked_out, staff.email)
    assert not is_logged_in_as(locked_out, staff)
    client = login(doctor)

    response = _unlock(client, staff)

    assert response.status_code == 302
    assert response["Location"] == PEOPLE
    page = client.get(PEOPLE)
    assert "Sam Front's account is unlocked." in text(page)
    assert "Locked" not in row(page, staff)
    assert "Unlock account" not in row(page, staff)
    staff.refresh_from_db()
    assert staff.locked_at is None
    assert staff.failed_logins == 0
    [entry] = entries(UNLOCKED)
    assert entry.actor_id == doctor.pk
    assert entry.practice_id == doctor.practice_id
    assert entry.target == f"user:{staff.pk}"
    assert entry.data == {}
    fresh = Client()
    assert log_in(fresh, staff.email).status_code == 302
    assert is_logged_in_as(fresh, staff)


def test_an_account_that_is_not_locked_is_left_alone(login: Any, doctor: User, staff: User) -> None:
    User.objects.filter(pk=staff.pk).update(failed_logins=3)

    response = _unlock(login(doctor), staff)

    assert response.status_code == 400
    assert "Sam Front's account is not locked." in text(response)
    staff.refresh_from_db()
    assert staff.failed_logins == 3
    assert entries(UNLOCKED) == []


def test_unlocking_twice_unlocks_once(login: Any, doctor: User, staff: User) -> None:
    lock(staff)
    client = login(doctor)

    assert _unlock(client, staff).status_code == 302
    assert _unlock(client, staff).status_code == 400
    assert len(entries(UNLOCKED)) == 1


def test_another_practices_locked_account_is_not_found(
    login: Any, doctor: User, other_doctor: User, outsider: User
) -> None:
    lock(other_doctor)
    lock(outsider)
    client = login(doctor)

    assert _unlock(client, other_doctor).status_code == 404
    assert _unlock(client, outsider).status_code == 404
    assert client.post(f"{PEOPLE}999999/unlock/").status_code == 404
    other_doctor.refresh_from_db()
    assert other_doctor.locked_at is not None
    assert entries(UNLOCKED) == []


@pytest.mark.parametrize("persona", ["staff", "free_staff", "patient"])
def test_anyone_but_the_manager_is_refused(
    persona: str, request: Any, login: Any, make_user: Any, practice: Any
) -> None:
    locked = lock(make_user("lee.locked@brightsmiles.test", practice=practice))

    response = _unlock(login(request.getfixturevalue(persona)), locked)

    assert response.status_code == 403
    locked.refresh_from_db()
    assert locked.locked_at is not None
    assert entries(UNLOCKED) == []


def test_anonymous_visitors_are_sent_to_log_in(staff: User) -> None:
    lock(staff)

    response = _unlock(Client(), staff)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    staff.refresh_from_db()
    assert staff.locked_at is not None


def test_unlocking_is_a_post(login: Any, doctor: User, staff: User) -> None:
    lock(staff)

    assert login(doctor).get(action_url(staff, "unlock")).status_code == 405
    staff.refresh_from_db()
    assert staff.locked_at is not None
