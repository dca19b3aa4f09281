"""A free account that tries to compose is told plainly how to get a paid plan: buy one
(within the practice's account), or ask the practice's user manager by name; patients that
their account stays free and can always read and reply."""

from typing import Any

import pytest

from securemail.accounts.models import User

pytestmark = pytest.mark.django_db

ASK = "your practice's user manager, who can buy one for you"
BUY = 'href="/billing/">Buy a paid plan</a>'


def _refusal(login: Any, user: User) -> str:
    response = login(user).get("/compose/")
    assert response.status_code == 403
    page = response.content.decode()
    assert "Composing is a paid feature" in page
    return page.replace("&#x27;", "'")


def test_free_staff_can_buy_or_ask_their_practices_user_manager_by_name(
    login: Any, doctor: User, free_staff: User
) -> None:
    page = _refusal(login, free_staff)

    assert BUY in page
    assert f"Or ask Dr. Jane Roe, {ASK}" in page


def test_a_free_user_manager_is_offered_to_buy_and_not_sent_to_themselves(
    login: Any, make_user: Any, practice: Any
) -> None:
    manager = make_user(
        "mia.manager@brightsmiles.test", practice=practice, is_practice_manager=True
    )

    page = _refusal(login, manager)

    assert BUY in page
    assert "Or ask " not in page


def test_free_staff_of_a_practice_without_a_manager_are_not_sent_to_nobody(
    login: Any, free_staff: User
) -> None:
    page = _refusal(login, free_staff)

    assert "Or ask " not in page
    assert BUY in page


def test_patients_are_told_their_free_account_can_always_read_and_reply(
    login: Any, doctor: User, patient: User
) -> None:
    page = _refusal(login, patient)

    assert "Patient accounts stay free, and can always read" in page
    assert "reply to them" in page
    assert "Or ask " not in page
    assert "Buy a paid plan" not in page
