"""`manage.py create_operator`: an operator account with a one-time set-password link (or a
password asked for at the terminal), a longer password than everyone's, and an account that
is never a practice user's: no practice, no plan, no messages addressed to it."""

import io
import re
from html import unescape
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.test import Client

from securemail.accounts.models import Practice, User
from securemail.accounts.tests.twostep import turn_on_app
from securemail.audit.models import AuditEvent
from securemail.console.tests.helpers import console_url
from securemail.messaging.services import MessagingError
from securemail.messaging.tests.helpers import send
from tests.support import path_of

pytestmark = pytest.mark.django_db

EMAIL = "Sam.Ops@SecureMail.test"
GOOD_PASSWORD = "staple battery horse correct 19"


def _create(*args: str) -> str:
    out = io.StringIO()
    call_command("create_operator", *args, stdout=out)
    return out.getvalue()


def _link(output: str) -> str:
    match = re.search(r"https?://\S+/accounts/password/\S+/", output)
    assert match, output
    return path_of(match.group(0))


def test_the_command_creates_an_operator_and_prints_a_set_password_link() -> None:
    output = _create(EMAIL, "--name", "Sam  Ops")

    operator = User.objects.get(email="sam.ops@securemail.test")
    assert operator.is_operator
    assert operator.full_name == "Sam Ops"
    assert operator.kind == ""
    assert operator.practice is None
    assert not operator.has_usable_password()
    assert operator.status == User.Status.REGISTERED
    assert "at least 16 characters" in output
    assert "within 24 hours" in output
    assert console_url() in output
    event = AuditEvent.objects.get(event="ops:operator:create")
    assert event.target == f"user:{operator.pk}"
    assert event.actor_id is None


def test_the_link_refuses_a_short_password_then_sets_a_long_one_and_the_console_opens(
    client: Client,
) -> None:
    link = _link(_create(EMAIL))
    form = client.get(link, follow=True)
    form_url = form.redirect_chain[-1][0]
    eight = "Plover-Quartz-9931"[:12]

    short = client.post(form_url, {"new_password1": eight, "new_password2": eight})

    assert short.status_code == 400
    assert "An operator's password needs at least 16 characters." in unescape(short.text)

    done = client.post(form_url, {"new_password1": GOOD_PASSWORD, "new_password2": GOOD_PASSWORD})

    assert done.status_code == 302
    assert "Log in to open the console." in client.get(done["Location"]).content.decode()
    page = client.post(
        "/accounts/login/",
        {"username": EMAIL, "password": GOOD_PASSWORD},
        follow=True,
    )
    # Operators must use two-step login: a new one sets it up before the console opens.
    assert page.redirect_chain[-1][0] == "/accounts/security/"
    assert "Operators of the console must use it." in page.content.decode()
    assert client.get(console_url())["Location"] == "/accounts/security/"
    turn_on_app(User.objects.get(email__iexact=EMAIL.strip()))
    assert client.get(console_url()).status_code == 200
    # The link worked once.
    assert Client().get(link, follow=True).status_code == 404


def test_a_practice_users_eight_characters_are_still_enough(doctor: User) -> None:
    from securemail.accounts import services

    services.set_password(user=doctor, password="Plover-Quartz-9931"[:9])

    doctor.refresh_from_db()
    assert doctor.check_password("Plover-Qu")


def test_the_command_asks_for_the_password_at_a_terminal(monkeypatch: Any) -> None:
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    typed = iter([GOOD_PASSWORD, GOOD_PASSWORD])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(typed))

    output = _create(EMAIL, "--ask-password")

    operator = User.objects.get(email="sam.ops@securemail.test")
    assert operator.check_password(GOOD_PASSWORD)
    assert operator.status == User.Status.ACTIVE
    assert "password set" in output
    assert "/accounts/password/" not in output


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        (["short but nice", "short but nice"], "at least 16 characters"),
        ([GOOD_PASSWORD, GOOD_PASSWORD + "x"], "The two passwords differ"),
        (["1234567890123456789", "1234567890123456789"], "entirely numeric"),
    ],
)
def test_a_refused_password_creates_nothing(
    typed: list[str], message: str, monkeypatch: Any
) -> None:
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    answers = iter(typed)
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))

    with pytest.raises(CommandError, match=message):
        _create(EMAIL, "--ask-password")

    assert not User.objects.filter(email="sam.ops@securemail.test").exists()


def test_asking_for_a_password_needs_a_terminal(monkeypatch: Any) -> None:
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)

    with pytest.raises(CommandError, match="needs a terminal"):
        _create(EMAIL, "--ask-password")


def test_an_address_with_an_account_cant_become_an_operator(doctor: User) -> None:
    with pytest.raises(CommandError, match="already has an account"):
        _create(doctor.email.upper())

    doctor.refresh_from_db()
    assert not doctor.is_operator


@pytest.mark.parametrize(
    "change",
    [{"kind": "doctor"}, {"plan": "paid"}, {"is_practice_manager": True}, {"practice": True}],
)
def test_the_database_refuses_an_operator_who_is_also_a_practice_user(
    change: dict[str, Any], operator: User, practice: Practice
) -> None:
    if change.get("practice"):
        change = {"practice": practice}

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=operator.pk).update(**change)


def test_nobody_can_send_a_secure_message_to_an_operator(doctor: User, operator: User) -> None:
    with pytest.raises(MessagingError, match="can't receive secure messages"):
        send(doctor, operator.email)
