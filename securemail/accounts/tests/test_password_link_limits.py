"""The limits on "Forgot your password?" (issue 9): the people of one office, behind one
address, can each ask for a link, and one account can't be flooded from many addresses; the
page has a limit of its own, apart from the fresh registration link's."""

from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from securemail.accounts.models import User
from securemail.core.ratelimit import parse_rule
from securemail.notifications.models import OutboxEmail

pytestmark = pytest.mark.django_db

OFFICE = "203.0.113.7"
TOO_MANY = "Too many requests. Wait an hour and try again."


def _ask(email: str, ip: str = OFFICE) -> Any:
    return Client().post("/accounts/password/", {"email": email}, REMOTE_ADDR=ip)


def _limit(name: str) -> int:
    return parse_rule(settings.SECUREMAIL_RATE_LIMITS[name])[0]


def test_six_people_of_one_office_each_get_a_link(make_user: Any, practice: Any) -> None:
    people = [make_user(f"person.{n}@brightsmiles.test", practice=practice) for n in range(6)]

    answers = [_ask(person.email).status_code for person in people]

    assert answers == [302] * 6
    sent = OutboxEmail.objects.filter(kind="set_password")
    assert sorted(sent.values_list("to_email", flat=True)) == sorted(p.email for p in people)


def test_one_account_cannot_be_flooded_from_many_addresses(doctor: User) -> None:
    per_account = _limit("password_link_account")

    answers = [_ask(doctor.email, ip=f"198.51.100.{n + 1}") for n in range(per_account + 1)]

    assert [a.status_code for a in answers] == [302] * per_account + [429]
    assert TOO_MANY in answers[-1].content.decode()
    assert OutboxEmail.objects.filter(to_email=doctor.email).count() == per_account


def test_an_address_past_its_limit_is_refused_with_a_clear_message() -> None:
    per_address = _limit("password_link")
    for n in range(per_address):
        assert _ask(f"someone.{n}@example.test").status_code == 302

    refused = _ask("one.more@example.test")

    assert refused.status_code == 429
    assert TOO_MANY in refused.content.decode()
    assert _ask("one.more@example.test", ip="198.51.100.1").status_code == 302


def test_the_reset_page_and_the_fresh_link_page_keep_separate_counts() -> None:
    for n in range(_limit("password_link")):
        _ask(f"someone.{n}@example.test")
    assert _ask("one.more@example.test").status_code == 429

    fresh = Client().post("/register/link/", {"email": "invitee@example.test"}, REMOTE_ADDR=OFFICE)

    assert fresh.status_code == 200
    assert "a fresh link is on its way" in fresh.content.decode()
