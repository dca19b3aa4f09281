"""Registering in a browser where someone else is logged in (a shared front-desk computer,
or the demo's doctor clicking the links in the mail catcher): the newcomer never acts as that
person, and ends on the login form, not in that person's inbox."""

from typing import Any

import pytest
from django.test import Client

from securemail.accounts.models import User
from securemail.onboarding.models import Invitation
from securemail.onboarding.tests.helpers import MAILBOX, finish_wizard, invite, start

pytestmark = pytest.mark.django_db

EMAIL = "one.browser@example.test"
STRONG = "Plover-Quartz-9931"


def _set_password(client: Client) -> Any:
    form_url = client.get(MAILBOX.link(EMAIL, "/accounts/password/"))["Location"]
    return client.post(form_url, {"new_password1": STRONG, "new_password2": STRONG}, follow=True)


def test_starting_a_registration_logs_out_whoever_was_logged_in(login: Any, doctor: User) -> None:
    _, join_path = invite(doctor, EMAIL, "patient")
    client = login(doctor)

    page = client.get(join_path).content.decode()
    response = client.post(join_path)

    assert f"This browser is logged in as {doctor.email}" in page
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302
    # The wizard is bound to this browser all the same.
    assert Invitation.objects.get(invitee__email=EMAIL).opened_at is not None
    assert client.get("/register/").status_code == 302


def test_a_newcomer_in_one_browser_ends_on_the_login_form_with_the_success_message(
    login: Any, doctor: User
) -> None:
    _, join_path = invite(doctor, EMAIL, "patient")
    client = login(doctor)
    client.post(join_path)
    finish_wizard(client)

    response = _set_password(client)

    assert response.wsgi_request.user.is_anonymous
    assert response.redirect_chain[-1][0] == "/accounts/login/"
    page = response.content.decode()
    assert "Log in to SecureMail" in page
    assert "Your password is set. Log in to read your messages." in page
    assert User.objects.get(email=EMAIL).check_password(STRONG)


def test_setting_the_password_logs_out_someone_else_logged_in_here(
    login: Any, doctor: User
) -> None:
    # The wizard was done on the newcomer's phone; the set-password email is opened on the
    # doctor's computer, where the doctor is logged in.
    _, join_path = invite(doctor, EMAIL, "patient")
    finish_wizard(start(join_path))
    client = login(doctor)

    response = _set_password(client)

    assert response.wsgi_request.user.is_anonymous
    assert "Your password is set. Log in to read your messages." in response.content.decode()
    assert User.objects.get(email=EMAIL).check_password(STRONG)
    # The doctor's own account is untouched: they log in again as before.
    doctor.refresh_from_db()
    assert doctor.has_usable_password()
