"""A free account that tries to compose is told plainly who can give it a paid plan: the
practice's user manager by name, or, for the manager, that plans open with billing; patients
that their account stays free and can always read and reply."""

from typing import Any

import pytest

from securemail.accounts.models import User

pytestmark = pytest.mark.django_db

ASK = "your practice's user manager"
BILLING = "Paid plans open with billing, which SecureMail doesn"


def _refusal(login: Any, user: User) -> str:
    response = login(user).get("/compose/")
    assert response.status_code == 403
    page = response.content.decode()
    assert "Composing is a paid feature" in page
    return page


def test_free_staff_are_told_to_ask_their_practices_user_manager_by_name(
    login: Any, doctor: User, free_staff: User
) -> None:
    page = _refusal(login, free_staff)

    assert f"Ask Dr. Jane Roe, {ASK}" in page
    assert BILLING not in page


def test_a_free_user_manager_is_told_plans_open_with_billing(
    login: Any, make_user: Any, practice: Any
) -> None:
    manager = make_user(
        "mia.manager@brightsmiles.test", practice=practice, is_practice_manager=True
    )

    page = _refusal(login, manager)

    assert BILLING in page
    assert "Until then your account keeps reading and replying" in page
    assert "Ask " not in page


def test_free_staff_of_a_practice_without_a_manager_are_not_sent_to_nobody(
    login: Any, free_staff: User
) -> None:
    page = _refusal(login, free_staff)

    assert "Ask " not in page
    assert BILLING in page


def test_patients_are_told_their_free_account_can_always_read_and_reply(
    login: Any, doctor: User, patient: User
) -> None:
    page = _refusal(login, patient)

    assert "Patient accounts stay free, and can always read" in page
    assert "reply to them" in page
    assert "Ask " not in page
    assert "billing" not in page
