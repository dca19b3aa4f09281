"""Issue 10: passkeys. Added from the security page (several per account, named,
removable), used for the second step and to sign in without a password; an answer for
another account, another origin or relying party, or with a counter that went back (a
cloned authenticator) is refused."""

from typing import Any

import pytest
from django.test import Client

from securemail.accounts.models import Passkey, TwoStep, User
from securemail.accounts.tests.helpers import is_logged_in_as
from securemail.accounts.tests.twostep import (
    SoftAuthenticator,
    add_passkey,
    passkey_options,
    passkey_verify,
    post_password,
)
from securemail.audit.models import AuditEvent
from securemail.onboarding.tests.helpers import MAILBOX

pytestmark = pytest.mark.django_db


def _with_passkey(login: Any, user: User, name: str = "Laptop") -> SoftAuthenticator:
    device = SoftAuthenticator()
    client = login(user)
    response = add_passkey(client, device, name)
    assert response.status_code == 200, response.content
    client.post("/accounts/logout/")
    return device


def test_a_first_passkey_turns_two_step_login_on_with_recovery_codes(
    login: Any, doctor: User
) -> None:
    client = login(doctor)
    device = SoftAuthenticator()

    response = add_passkey(client, device, "  Work   laptop ")

    assert response.json() == {"redirect": "/accounts/security/recovery-codes/new/"}
    codes_page = client.get("/accounts/security/recovery-codes/new/").content.decode()
    assert codes_page.count("<code>") == 10
    # Shown once.
    assert client.get("/accounts/security/recovery-codes/new/")["Location"] == "/accounts/security/"
    passkey = Passkey.objects.get(user=doctor)
    assert passkey.name == "Work laptop"
    assert TwoStep.objects.get(user=doctor).method == "passkey"
    assert AuditEvent.objects.filter(
        event="accounts:passkey:add", target=f"passkey:{passkey.pk}"
    ).exists()
    assert AuditEvent.objects.filter(event="accounts:two_step:on").exists()
    notice = MAILBOX.last_to(doctor.email)
    assert "Two-step login was turned on" in notice.subject
    assert "new passkey" in notice.text


def test_a_second_passkey_is_added_and_each_can_be_removed(login: Any, doctor: User) -> None:
    client = login(doctor)
    add_passkey(client, SoftAuthenticator(), "Laptop")

    second = add_passkey(client, SoftAuthenticator(), "Security key")

    assert second.json() == {"redirect": "/accounts/security/"}
    page = client.get("/accounts/security/").content.decode()
    assert "Laptop" in page
    assert "Security key" in page
    key = Passkey.objects.get(name="Security key")
    assert MAILBOX.last_to(doctor.email).subject == "SecureMail: A new passkey was added"

    removed = client.post(f"/accounts/security/passkeys/{key.pk}/remove/")

    assert removed.status_code == 302
    assert list(Passkey.objects.values_list("name", flat=True)) == ["Laptop"]
    assert AuditEvent.objects.filter(
        event="accounts:passkey:remove", target=f"passkey:{key.pk}"
    ).exists()
    assert MAILBOX.last_to(doctor.email).subject == "SecureMail: A passkey was removed"


def test_someone_elses_passkey_can_not_be_removed(login: Any, doctor: User, staff: User) -> None:
    client = login(doctor)
    add_passkey(client, SoftAuthenticator())
    theirs = Passkey.objects.get(user=doctor)

    response = login(staff).post(f"/accounts/security/passkeys/{theirs.pk}/remove/")

    assert response.status_code == 404
    assert Passkey.objects.filter(pk=theirs.pk).exists()


def test_the_same_authenticator_can_not_be_registered_twice(login: Any, doctor: User) -> None:
    client = login(doctor)
    device = SoftAuthenticator()
    add_passkey(client, device)

    again = add_passkey(client, device)

    assert again.status_code == 400
    assert "already registered" in again.json()["error"]


def test_a_registration_answer_from_another_origin_is_refused(login: Any, doctor: User) -> None:
    client = login(doctor)
    options = client.post("/accounts/security/passkeys/options/").json()

    response = client.post(
        "/accounts/security/passkeys/add/",
        {"credential": SoftAuthenticator().create(options, at="https://evil.test")},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert not Passkey.objects.exists()


def test_sign_in_with_a_passkey_and_no_password(login: Any, doctor: User) -> None:
    device = _with_passkey(login, doctor)
    client = Client()

    options = passkey_options(client, "sign_in")
    assert "allowCredentials" not in options or options["allowCredentials"] == []
    response = passkey_verify(client, "sign_in", device.get(options))

    assert response.status_code == 200, response.content
    assert response.json() == {"redirect": "/"}
    assert is_logged_in_as(client, doctor)
    assert AuditEvent.objects.filter(event="accounts:login:passkey", actor=doctor).exists()
    assert Passkey.objects.get(user=doctor).last_used_at is not None


def test_a_passkey_answers_the_second_step(login: Any, doctor: User) -> None:
    device = _with_passkey(login, doctor)
    client = Client()
    post_password(client, doctor.email)

    options = passkey_options(client, "second_step")
    assert [c["id"] for c in options["allowCredentials"]]
    response = passkey_verify(client, "second_step", device.get(options))

    assert response.json() == {"redirect": "/"}
    assert is_logged_in_as(client, doctor)


def test_another_accounts_passkey_is_refused_at_the_second_step(
    login: Any, doctor: User, staff: User
) -> None:
    _with_passkey(login, doctor)
    staff_device = _with_passkey(login, staff)
    client = Client()
    post_password(client, doctor.email)

    options = passkey_options(client, "second_step")
    response = passkey_verify(client, "second_step", staff_device.get(options))

    assert response.status_code == 400
    assert "isn't one of this account's" in response.json()["error"]
    assert not is_logged_in_as(client, doctor)
    assert not is_logged_in_as(client, staff)
    doctor.refresh_from_db()
    assert doctor.failed_logins == 1
    assert AuditEvent.objects.filter(
        event="accounts:passkey:refused", data={"reason": "other_account"}
    ).exists()


def test_an_answer_naming_another_accounts_user_handle_is_refused(
    login: Any, doctor: User, staff: User
) -> None:
    device = _with_passkey(login, doctor)
    _with_passkey(login, staff)
    staff_handle = bytes(TwoStep.objects.get(user=staff).passkey_user_handle)
    client = Client()

    options = passkey_options(client, "sign_in")
    response = passkey_verify(client, "sign_in", device.get(options, user_handle=staff_handle))

    assert response.status_code == 400
    assert not is_logged_in_as(client, doctor)
    assert not is_logged_in_as(client, staff)


@pytest.mark.parametrize(
    "where", [{"at": "https://evil.test"}, {"at": "http://localhost:9999"}, {"rp_id": "evil.test"}]
)
def test_an_answer_for_another_origin_or_site_is_refused(
    login: Any, doctor: User, where: dict[str, str]
) -> None:
    device = _with_passkey(login, doctor)
    client = Client()

    options = passkey_options(client, "sign_in")
    response = passkey_verify(client, "sign_in", device.get(options, **where))

    assert response.status_code == 400
    assert not is_logged_in_as(client, doctor)
    assert AuditEvent.objects.filter(
        event="accounts:passkey:refused", data={"reason": "invalid"}
    ).exists()


def test_an_answer_to_another_challenge_is_refused(login: Any, doctor: User) -> None:
    device = _with_passkey(login, doctor)
    first = Client()
    stale = passkey_options(first, "sign_in")
    passkey_options(first, "sign_in")

    response = passkey_verify(first, "sign_in", device.get(stale))

    assert response.status_code == 400
    assert not is_logged_in_as(first, doctor)


def test_an_answer_is_good_once(login: Any, doctor: User) -> None:
    device = _with_passkey(login, doctor)
    client = Client()
    options = passkey_options(client, "sign_in")
    answer = device.get(options)
    assert passkey_verify(client, "sign_in", answer).status_code == 200
    client.post("/accounts/logout/")

    again = passkey_verify(client, "sign_in", answer)

    assert again.status_code == 400
    assert not is_logged_in_as(client, doctor)


def test_a_cloned_authenticator_is_refused_and_audited(login: Any, doctor: User) -> None:
    device = _with_passkey(login, doctor)
    client = Client()
    assert (
        passkey_verify(
            client, "sign_in", device.get(passkey_options(client, "sign_in"))
        ).status_code
        == 200
    )
    client.post("/accounts/logout/")
    counter = Passkey.objects.get(user=doctor).sign_count
    assert counter >= 2

    clone = Client()
    response = passkey_verify(
        clone, "sign_in", device.get(passkey_options(clone, "sign_in"), counter=counter - 1)
    )

    assert response.status_code == 400
    assert "looks like a copy" in response.json()["error"]
    assert not is_logged_in_as(clone, doctor)
    suspected = AuditEvent.objects.get(event="accounts:passkey:clone_suspected")
    assert suspected.data == {"stored": counter, "sent": counter - 1}
    assert Passkey.objects.get(user=doctor).sign_count == counter
    notice = MAILBOX.last_to(doctor.email)
    assert "copy of one of your passkeys" in notice.subject


def test_an_unknown_passkey_can_not_sign_in(client: Client, doctor: User) -> None:
    options = passkey_options(client, "sign_in")

    response = passkey_verify(
        client, "sign_in", SoftAuthenticator().get(options, user_handle=b"x" * 32)
    )

    assert response.status_code == 400
    assert "isn't registered" in response.json()["error"]


def test_a_locked_account_can_not_sign_in_with_a_passkey(login: Any, doctor: User) -> None:
    from django.utils import timezone

    device = _with_passkey(login, doctor)
    User.objects.filter(pk=doctor.pk).update(locked_at=timezone.now())
    client = Client()

    response = passkey_verify(client, "sign_in", device.get(passkey_options(client, "sign_in")))

    assert response.status_code == 400
    assert not is_logged_in_as(client, doctor)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"purpose": "sign_in"}',
        b'{"purpose": "sign_in", "credential": {"rawId": "@@"}}',
        b'{"purpose": "nonsense"}',
    ],
)
def test_bad_passkey_answers_are_a_clear_400(client: Client, body: bytes) -> None:
    passkey_options(client, "sign_in")

    response = client.post("/accounts/passkey/verify/", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]


def test_second_step_options_need_the_password_first(client: Client) -> None:
    response = client.post("/accounts/passkey/options/", {"purpose": "second_step"})

    assert response.status_code == 400
    assert "Log in first" in response.json()["error"]


def test_passwordless_sign_in_is_rate_limited(settings: Any, client: Client, doctor: User) -> None:
    settings.SECUREMAIL_RATE_LIMITS = {**settings.SECUREMAIL_RATE_LIMITS, "passkey_sign_in": "1/5m"}
    options = passkey_options(client, "sign_in")
    passkey_verify(client, "sign_in", SoftAuthenticator().get(options))

    response = passkey_verify(
        client, "sign_in", SoftAuthenticator().get(passkey_options(client, "sign_in"))
    )

    assert response.status_code == 429
