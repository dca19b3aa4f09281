"""Issue 10: the changes that need a recent login: the login address (confirmed from a link
sent to the new address; the old one is told), the cell phone (confirmed with a texted
code), the password (other browsers are logged out)."""

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from securemail.accounts.models import User
from securemail.accounts.tests.helpers import NEW_PASSWORD, is_logged_in_as
from securemail.audit.models import AuditEvent
from securemail.onboarding.tests.helpers import MAILBOX
from tests.support import PASSWORD

pytestmark = pytest.mark.django_db

NEW_EMAIL = "jane.new@brightsmiles.test"


def test_a_new_address_is_confirmed_from_the_link_sent_to_it(login: Any, doctor: User) -> None:
    client = login(doctor)

    asked = client.post("/accounts/security/email/", {"email": " Jane.New@BrightSmiles.test "})

    assert asked.status_code == 302
    assert AuditEvent.objects.filter(event="accounts:email:change_request", actor=doctor).exists()
    doctor.refresh_from_db()
    assert doctor.email == "jane.roe@brightsmiles.test"
    link = MAILBOX.link(NEW_EMAIL, "/accounts/security/email/")
    assert "asked" in MAILBOX.last_to("jane.roe@brightsmiles.test").subject
    # Opening the link changes nothing (mail scanners open links); the button does.
    page = Client().get(link)
    assert NEW_EMAIL in page.content.decode()
    doctor.refresh_from_db()
    assert doctor.email != NEW_EMAIL

    confirmed = Client().post(link)

    assert confirmed["Location"] == "/accounts/login/"
    doctor.refresh_from_db()
    assert doctor.email == NEW_EMAIL
    assert (
        MAILBOX.last_to("jane.roe@brightsmiles.test").subject
        == "SecureMail: Your login address was changed"
    )
    assert MAILBOX.last_to(NEW_EMAIL).subject == "SecureMail: Your login address was changed"
    assert AuditEvent.objects.filter(event="accounts:email:change", actor=doctor).exists()
    assert Client().post(link).status_code == 404
    fresh = Client()
    fresh.post("/accounts/login/", {"username": NEW_EMAIL, "password": PASSWORD})
    assert is_logged_in_as(fresh, doctor)


def test_an_address_with_an_account_is_refused(login: Any, doctor: User, staff: User) -> None:
    response = login(doctor).post("/accounts/security/email/", {"email": staff.email})

    assert response.status_code == 400
    assert "belongs to another account" in response.content.decode()


@pytest.mark.parametrize("typed", ["", "not an address", "a@b", "x" * 300 + "@example.test"])
def test_a_bad_address_is_a_clear_400(login: Any, doctor: User, typed: str) -> None:
    response = login(doctor).post("/accounts/security/email/", {"email": typed})

    assert response.status_code == 400


def test_a_newer_request_replaces_the_older_link(login: Any, doctor: User) -> None:
    client = login(doctor)
    client.post("/accounts/security/email/", {"email": NEW_EMAIL})
    old_link = MAILBOX.link(NEW_EMAIL, "/accounts/security/email/")
    client.post("/accounts/security/email/", {"email": "jane.other@brightsmiles.test"})

    assert Client().post(old_link).status_code == 404
    doctor.refresh_from_db()
    assert doctor.email == "jane.roe@brightsmiles.test"


def test_the_link_expires_after_a_day(login: Any, doctor: User) -> None:
    login(doctor).post("/accounts/security/email/", {"email": NEW_EMAIL})
    link = MAILBOX.link(NEW_EMAIL, "/accounts/security/email/")

    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        assert Client().post(link).status_code == 404


def test_an_altered_link_is_a_404(client: Client) -> None:
    assert client.get("/accounts/security/email/not-a-token/").status_code == 404


def test_changing_the_password_logs_other_browsers_out(login: Any, doctor: User) -> None:
    other = Client()
    other.force_login(doctor, backend="securemail.accounts.backends.EmailBackend")
    client = login(doctor)

    response = client.post(
        "/accounts/security/password/",
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert other.get("/").status_code == 302
    doctor.refresh_from_db()
    assert doctor.check_password(NEW_PASSWORD)
    assert AuditEvent.objects.filter(event="accounts:password:change").exists()
    assert MAILBOX.last_to(doctor.email).subject == "SecureMail: Your password was changed"
    assert NEW_PASSWORD not in MAILBOX.last_to(doctor.email).text


def test_a_weak_or_mismatched_new_password_is_refused(login: Any, doctor: User) -> None:
    client = login(doctor)

    weak = client.post(
        "/accounts/security/password/", {"new_password1": "password", "new_password2": "password"}
    )
    differ = client.post(
        "/accounts/security/password/",
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD + "x"},
    )

    assert weak.status_code == 400
    assert differ.status_code == 400
    assert "differ" in differ.content.decode()
    doctor.refresh_from_db()
    assert doctor.check_password(PASSWORD)


def test_a_new_cell_phone_is_verified_with_a_code(login: Any, doctor: User) -> None:
    client = login(doctor)

    sent = client.post("/accounts/security/phone/", {"phone": "(312) 555-0143"})

    assert sent["Location"] == "/accounts/security/phone/confirm/"
    code = MAILBOX.code("13125550143@sms.invalid")
    assert client.post("/accounts/security/phone/confirm/", {"code": "000000"}).status_code == 400
    done = client.post("/accounts/security/phone/confirm/", {"code": code})

    assert done["Location"] == "/accounts/security/"
    doctor.refresh_from_db()
    assert doctor.phone == "+13125550143"
    assert doctor.phone_verified_at is not None
    assert AuditEvent.objects.filter(event="accounts:phone:change").exists()
    notice = MAILBOX.last_to(doctor.email)
    assert notice.subject == "SecureMail: Your cell phone was changed"
    assert code not in notice.text


@pytest.mark.parametrize("typed", ["", "12", "(900) 555-0100", "not a phone"])
def test_a_phone_that_can_not_get_codes_is_refused(login: Any, doctor: User, typed: str) -> None:
    response = login(doctor).post("/accounts/security/phone/", {"phone": typed})

    assert response.status_code == 400
    doctor.refresh_from_db()
    assert doctor.phone != typed
