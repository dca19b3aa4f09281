"""Issue 10: turning two-step login on and off on the security page, its methods and
recovery codes. The TOTP secret is sealed at rest; every change emails the person (no code
in it) and leaves an audit entry."""

import re
from typing import Any

import pyotp
import pytest
from django.db import connection
from django.test import Client

from securemail.accounts.models import AuthenticatorApp, RecoveryCode, TwoStep, User
from securemail.accounts.security import setup
from securemail.accounts.tests.twostep import (
    SoftAuthenticator,
    add_passkey,
    fresh_code,
    turn_on_app,
)
from securemail.audit.models import AuditEvent
from securemail.onboarding.tests.helpers import MAILBOX

pytestmark = pytest.mark.django_db


def _secret_on_page(page: str) -> str:
    match = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', page)
    assert match, "no key on the page"
    return match.group(1).replace(" ", "")


def _codes_on_page(page: str) -> list[str]:
    return re.findall(r"<code>([a-z0-9-]+)</code>", page)


def test_setting_up_an_authenticator_app_turns_two_step_login_on(login: Any, doctor: User) -> None:
    client = login(doctor)
    page = client.get("/accounts/security/app/").content.decode()
    assert 'src="data:image/svg+xml' in page
    secret = _secret_on_page(page)
    # A reload shows the same key (it is not confirmed yet).
    assert _secret_on_page(client.get("/accounts/security/app/").content.decode()) == secret

    done = client.post("/accounts/security/app/", {"code": pyotp.TOTP(secret).now()})

    assert done.status_code == 200
    codes = _codes_on_page(done.content.decode())
    assert len(codes) == 10
    assert len(set(codes)) == 10
    assert TwoStep.objects.get(user=doctor).method == "app"
    assert AuditEvent.objects.filter(
        event="accounts:two_step:on", actor=doctor, data={"method": "app"}
    ).exists()
    notice = MAILBOX.last_to(doctor.email)
    assert notice.subject == "SecureMail: Two-step login was turned on"
    for code in codes:
        assert code not in notice.text + notice.html
    assert secret not in notice.text + notice.html
    assert (
        "Two-step login is <strong>on</strong>"
        in client.get("/accounts/security/").content.decode()
    )


def test_a_wrong_first_code_sets_nothing_up(login: Any, doctor: User) -> None:
    client = login(doctor)
    client.get("/accounts/security/app/")

    for code in ["000000", "", "12345", "abcdef", "9" * 40]:
        response = client.post("/accounts/security/app/", {"code": code})
        assert response.status_code == 400, code

    assert not TwoStep.objects.filter(user=doctor).exclude(method="").exists()
    assert AuthenticatorApp.objects.get(user=doctor).confirmed_at is None


def test_the_totp_secret_is_sealed_at_rest(login: Any, doctor: User) -> None:
    secret = turn_on_app(doctor)
    app = AuthenticatorApp.objects.get(user=doctor)

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_authenticatorapp")
        raw = repr(cursor.fetchall())
    assert secret not in raw
    assert secret.encode() not in bytes(app.secret_sealed)
    # Bound to its row and person: moved to another account, it doesn't open.
    from securemail.core import crypto

    app.user_id = doctor.pk + 1000
    with pytest.raises(crypto.DecryptionError):
        setup.app_secret(app)


def test_text_message_codes_can_be_turned_on(login: Any, doctor: User) -> None:
    client = login(doctor)
    assert client.post("/accounts/security/text/send/").status_code == 302
    code = MAILBOX.code(doctor.phone.lstrip("+") + "@sms.invalid")

    done = client.post("/accounts/security/text/", {"code": code})

    assert done.status_code == 200
    assert len(_codes_on_page(done.content.decode())) == 10
    assert TwoStep.objects.get(user=doctor).text_enabled


def test_text_codes_need_a_verified_cell_phone(login: Any, make_user: Any) -> None:
    landline = make_user("lena.land@example.test", phone_type="landline")

    login(landline).post("/accounts/security/text/send/")

    assert "landline" in login(landline).get("/accounts/security/text/").content.decode()
    assert not [m for m in MAILBOX.all() if "sms.invalid" in m.to[0]]


def test_choosing_another_method_is_emailed_and_audited(login: Any, doctor: User) -> None:
    turn_on_app(doctor)
    client = login(doctor)
    add_passkey(client, SoftAuthenticator())

    assert AuditEvent.objects.filter(
        event="accounts:two_step:method_add", data={"method": "passkey"}
    ).exists()

    response = client.post("/accounts/security/method/", {"method": "passkey"})

    assert response.status_code == 302
    assert TwoStep.objects.get(user=doctor).method == "passkey"
    assert AuditEvent.objects.filter(
        event="accounts:two_step:method_change", data={"method": "passkey"}
    ).exists()
    assert (
        MAILBOX.last_to(doctor.email).subject
        == "SecureMail: Your second step at login is now: passkey"
    )


def test_a_method_not_set_up_can_not_be_chosen(login: Any, doctor: User) -> None:
    turn_on_app(doctor)

    response = login(doctor).post("/accounts/security/method/", {"method": "text"})

    assert response.status_code == 400
    assert TwoStep.objects.get(user=doctor).method == "app"


def test_new_recovery_codes_replace_the_old_ones(login: Any, doctor: User) -> None:
    started = setup.start_app(user=doctor)
    old = setup.confirm_app(user=doctor, code=pyotp.TOTP(started.secret).now())
    client = login(doctor)

    page = client.post("/accounts/security/recovery-codes/").content.decode()

    new = _codes_on_page(page)
    assert len(new) == 10
    assert not set(new) & set(old)
    assert RecoveryCode.objects.filter(user=doctor).count() == 10
    assert AuditEvent.objects.filter(event="accounts:recovery_codes:regenerate").exists()
    notice = MAILBOX.last_to(doctor.email)
    assert notice.subject == "SecureMail: New recovery codes were made"
    for code in new + old:
        assert code not in notice.text + notice.html
    # An old one no longer passes the second step.
    anonymous = Client()
    anonymous.post(
        "/accounts/login/",
        {"username": doctor.email, "password": "correct horse battery staple 42"},
    )
    assert (
        anonymous.post(
            "/accounts/login/second-step/", {"method": "recovery", "code": old[0]}
        ).status_code
        == 400
    )


def test_turning_two_step_login_off(login: Any, doctor: User) -> None:
    turn_on_app(doctor)
    client = login(doctor)
    add_passkey(client, SoftAuthenticator())

    response = client.post("/accounts/security/off/")

    assert response.status_code == 302
    assert not AuthenticatorApp.objects.filter(user=doctor).exists()
    assert not RecoveryCode.objects.filter(user=doctor).exists()
    assert not doctor.passkeys.exists()
    assert TwoStep.objects.get(user=doctor).method == ""
    assert AuditEvent.objects.filter(event="accounts:two_step:off", actor=doctor).exists()
    assert MAILBOX.last_to(doctor.email).subject == "SecureMail: Two-step login was turned off"
    # The password alone logs in again.
    other = Client()
    other.post(
        "/accounts/login/",
        {"username": doctor.email, "password": "correct horse battery staple 42"},
    )
    assert other.get("/").status_code == 200


def test_removing_the_last_method_turns_it_off(login: Any, doctor: User) -> None:
    turn_on_app(doctor)

    login(doctor).post("/accounts/security/app/remove/")

    assert TwoStep.objects.get(user=doctor).method == ""
    assert AuditEvent.objects.filter(event="accounts:two_step:method_remove").exists()
    assert AuditEvent.objects.filter(event="accounts:two_step:off").exists()


def test_removing_the_chosen_method_falls_back_to_another(login: Any, doctor: User) -> None:
    turn_on_app(doctor)
    client = login(doctor)
    add_passkey(client, SoftAuthenticator())

    client.post("/accounts/security/app/remove/")

    assert TwoStep.objects.get(user=doctor).method == "passkey"
    assert MAILBOX.last_to(doctor.email).subject == "SecureMail: The authenticator app was removed"


def test_a_second_app_needs_the_first_removed(login: Any, doctor: User) -> None:
    turn_on_app(doctor)

    response = login(doctor).get("/accounts/security/app/")

    assert response.status_code == 400
    assert "already set up" in response.content.decode()


def test_the_security_page_lists_what_is_set_up(login: Any, doctor: User) -> None:
    secret = turn_on_app(doctor)
    page = login(doctor).get("/accounts/security/").content.decode()

    assert "Remove the authenticator app" in page
    assert "9 of 10 left" not in page
    assert "10 of 10 left" in page
    assert secret not in page
    assert fresh_code(secret) not in page
