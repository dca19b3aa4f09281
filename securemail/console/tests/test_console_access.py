"""Who reaches the console: operators get its pages; nobody logged in is sent to the login
page; a practice user gets the site's ordinary 404 from every console URL (not a 403 that
would confirm the console is there). Operators reach nothing but the console. Bad input:
unknown ids, ids that aren't ids, lookups the page doesn't offer, POSTs without CSRF."""

from html import unescape
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from securemail.accounts.models import Practice, User
from securemail.accounts.tests.twostep import app_secret, fresh_code
from securemail.console.tests.conftest import OPERATOR_PASSWORD
from securemail.console.tests.helpers import console_url, logged_in, page_url
from securemail.notifications.models import OutboxEmail
from securemail.onboarding.models import Invitation

pytestmark = pytest.mark.django_db


def _console_urls(user: User, practice: Practice) -> list[str]:
    return [
        console_url(),
        console_url("login"),
        console_url("logout"),
        console_url("password_change"),
        "/" + settings.SECUREMAIL_CONSOLE_PATH + "accounts/",
        page_url(User),
        page_url(User, "change", user.pk),
        page_url(User, "history", user.pk),
        page_url(Practice, "change", practice.pk),
        page_url(Invitation),
        page_url(OutboxEmail),
        "/" + settings.SECUREMAIL_CONSOLE_PATH + "no/such/page/",
    ]


def test_an_operator_gets_the_console_index_with_every_section(operator: User) -> None:
    page = logged_in(operator).get(console_url())

    assert page.status_code == 200
    text = page.content.decode()
    for section in [
        "Users",
        "Practices",
        "Invitations",
        "Outbox emails",
        "Outbox texts",
        "Bounced addresses",
        "Audit events",
        "Billing accounts",
        "Subscriptions",
        "Invoices",
        "Processor events",
    ]:
        assert section in text, section
    # Nothing to add, change or delete, and no password change here.
    assert "/add/" not in text
    assert "password_change" not in text


def test_nobody_logged_in_is_sent_to_the_login_page(doctor: User, practice: Practice) -> None:
    for url in _console_urls(doctor, practice):
        response = Client().get(url)

        assert response.status_code == 302, url
        assert response["Location"].split("?")[0] == reverse("accounts:login"), url


@pytest.mark.parametrize("persona", ["doctor", "staff", "free_staff", "patient"])
def test_a_practice_user_gets_the_ordinary_404_from_every_console_url(
    persona: str, request: Any, doctor: User, practice: Practice
) -> None:
    user = request.getfixturevalue(persona)
    client = logged_in(user)

    for url in _console_urls(doctor, practice):
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"action": "unlock_accounts"}).status_code == 404, url
    ordinary = client.get("/no/such/page/")
    page = client.get(console_url())
    assert page.content == ordinary.content


def test_an_operator_logs_in_on_the_login_page_and_lands_in_the_console(
    client: Client, operator: User
) -> None:
    client.post(
        reverse("accounts:login"), {"username": operator.email, "password": OPERATOR_PASSWORD}
    )
    # Operators use two-step login (issue 10).
    response = client.post(
        reverse("accounts:second_step"),
        {"method": "app", "code": fresh_code(app_secret(operator))},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == console_url()
    assert response.status_code == 200
    assert "SecureMail operators' console" in unescape(response.text)


def test_after_logging_in_the_console_sends_the_operator_where_they_were_going(
    client: Client, operator: User
) -> None:
    wanted = page_url(Invitation)
    start = client.get(wanted)
    assert start["Location"] == f"{reverse('accounts:login')}?next={wanted}"

    client.post(start["Location"], {"username": operator.email, "password": OPERATOR_PASSWORD})
    response = client.post(
        reverse("accounts:second_step"),
        {"method": "app", "code": fresh_code(app_secret(operator))},
    )

    assert response["Location"] == wanted


@pytest.mark.parametrize(
    "path",
    ["/", "/inbox/", "/compose/", "/accounts/profile/", "/practice/settings/", "/no/such/page/"],
)
def test_an_operator_reaches_no_practice_page_only_the_console(path: str, operator: User) -> None:
    response = logged_in(operator).get(path)

    assert response.status_code == 302
    assert response["Location"] == console_url()


def test_an_operator_logs_out_from_the_console(operator: User) -> None:
    client = logged_in(operator)

    response = client.post(console_url("logout"))

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:login")
    assert client.get(console_url()).status_code == 302


def test_a_locked_operator_has_no_console(operator: User) -> None:
    client = logged_in(operator)
    User.objects.filter(pk=operator.pk).update(locked_at="2026-01-01T00:00:00Z")

    response = client.get(console_url())

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize("view", ["add", "delete"])
def test_nothing_can_be_added_or_deleted(view: str, operator: User, doctor: User) -> None:
    client = logged_in(operator)
    url = page_url(User, "add") if view == "add" else page_url(User, "delete", doctor.pk)

    assert client.get(url).status_code == 404
    assert client.post(url, {"post": "yes"}).status_code == 404
    assert User.objects.filter(pk=doctor.pk).exists()


def test_a_detail_page_changes_nothing_when_posted_to(operator: User, doctor: User) -> None:
    client = logged_in(operator)

    response = client.post(page_url(User, "change", doctor.pk), {"email": "new@example.test"})

    assert response.status_code == 403
    doctor.refresh_from_db()
    assert doctor.email == "jane.roe@brightsmiles.test"


@pytest.mark.parametrize(
    ("model", "unknown"),
    [
        (User, "999999"),
        (User, "not-a-number"),
        (OutboxEmail, "00000000-0000-0000-0000-000000000000"),
        (OutboxEmail, "not-a-uuid"),
        (Invitation, "999999"),
    ],
)
def test_unknown_ids_answer_404(model: type, unknown: str, operator: User) -> None:
    client = logged_in(operator)

    assert client.get(page_url(model, "change", unknown)).status_code == 404
    assert client.get(page_url(model, "history", unknown)).status_code == 404


def test_an_action_on_unknown_rows_answers_404_and_on_non_ids_400(operator: User) -> None:
    client = logged_in(operator)
    url = page_url(User)

    unknown = client.post(url, {"action": "unlock_accounts", "_selected_action": ["999999"]})
    not_ids = client.post(url, {"action": "unlock_accounts", "_selected_action": ["x"]})

    assert unknown.status_code == 404
    assert not_ids.status_code == 400


@pytest.mark.parametrize(
    "lookup",
    [
        "password__startswith=argon2",
        "phone__startswith=%2B1",
        "signature__contains=a",
        "practice__members__password__startswith=a",
        "kind__startswith=d",
        "invited_by__email=x",
    ],
)
def test_a_page_filters_only_by_what_it_offers(lookup: str, operator: User) -> None:
    response = logged_in(operator).get(f"{page_url(User)}?{lookup}")

    assert response.status_code == 400


@pytest.mark.parametrize(
    ("model", "lookup"),
    [
        (Invitation, "token_hash__startswith=a"),
        (Invitation, "wizard_data__has_key=phone"),
        (Invitation, "invitee__password__startswith=a"),
        (OutboxEmail, "sealed_payload__isnull=false"),
    ],
)
def test_secrets_cant_be_probed_through_filters(model: type, lookup: str, operator: User) -> None:
    response = logged_in(operator).get(f"{page_url(model)}?{lookup}")

    assert response.status_code == 400


def test_the_filters_the_page_offers_work(operator: User, doctor: User, patient: User) -> None:
    client = logged_in(operator)

    doctors = client.get(f"{page_url(User)}?kind__exact=doctor")
    members = client.get(f"{page_url(User)}?practice__id__exact={doctor.practice_id}")

    assert doctors.status_code == 200
    assert doctor.email in doctors.content.decode()
    assert patient.email not in doctors.content.decode()
    assert members.status_code == 200
    assert doctor.email in members.content.decode()
    assert patient.email not in members.content.decode()


def test_a_post_without_its_csrf_token_is_refused(operator: User, doctor: User) -> None:
    User.objects.filter(pk=doctor.pk).update(locked_at="2026-01-01T00:00:00Z", failed_logins=5)
    client = logged_in(operator, enforce_csrf_checks=True)

    unlock = client.post(
        page_url(User),
        {"action": "unlock_accounts", "_selected_action": [doctor.pk], "confirmed": "yes"},
    )
    logout = client.post(console_url("logout"))

    assert unlock.status_code == 403
    assert logout.status_code == 403
    doctor.refresh_from_db()
    assert doctor.locked_at is not None
    assert client.get(console_url()).status_code == 200
