"""Issue 10: login with a second step (authenticator app, text message, recovery code).
The session is authenticated only after it; wrong codes lock like wrong passwords; a code
works once; the second step can't be skipped or finished in another browser."""

from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from securemail.accounts.models import RecoveryCode, User
from securemail.accounts.security import setup
from securemail.accounts.tests.helpers import is_logged_in_as
from securemail.accounts.tests.twostep import (
    code_at,
    fresh_code,
    post_code,
    post_password,
    turn_on_app,
)
from securemail.audit.models import AuditEvent
from securemail.onboarding.tests.helpers import MAILBOX

pytestmark = pytest.mark.django_db


def test_the_password_alone_does_not_log_in_an_account_with_two_step_on(
    client: Client, doctor: User
) -> None:
    turn_on_app(doctor)

    response = post_password(client, doctor.email)

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/second-step/"
    assert not is_logged_in_as(client, doctor)
    assert client.get("/").status_code == 302
    page = client.get("/accounts/login/second-step/")
    assert page.status_code == 200
    assert "authenticator app" in page.content.decode()
    assert "Use a recovery code" in page.content.decode()
    assert AuditEvent.objects.filter(event="accounts:login:password_accepted").count() == 1
    assert not AuditEvent.objects.filter(event="accounts:login:succeeded").exists()


def test_the_app_code_finishes_the_login(client: Client, doctor: User) -> None:
    secret = turn_on_app(doctor)
    post_password(client, doctor.email)

    response = post_code(client, "app", fresh_code(secret))

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert is_logged_in_as(client, doctor)
    assert client.get("/").status_code == 200
    passed = AuditEvent.objects.get(event="accounts:login:second_step")
    assert passed.data == {"method": "app"}
    assert AuditEvent.objects.filter(event="accounts:login:succeeded", actor=doctor).exists()


def test_next_survives_the_second_step(client: Client, doctor: User) -> None:
    secret = turn_on_app(doctor)
    client.post(
        "/accounts/login/",
        {"username": doctor.email, "password": "correct horse battery staple 42", "next": "/sent/"},
    )

    response = post_code(client, "app", fresh_code(secret))

    assert response["Location"] == "/sent/"


@pytest.mark.parametrize("offset", [-1, 1])
def test_a_code_of_the_step_before_or_after_is_accepted_once(
    client: Client, doctor: User, offset: int
) -> None:
    secret = turn_on_app(doctor)
    # Two steps later: the confirming code's step is long past.
    with time_machine.travel(timezone.now() + timezone.timedelta(seconds=60), tick=False):
        post_password(client, doctor.email)
        code = code_at(secret, offset)
        assert post_code(client, "app", code)["Location"] == "/"

        again = Client()
        post_password(again, doctor.email)
        replayed = post_code(again, "app", code)

    assert replayed.status_code == 400
    assert "not right" in replayed.content.decode()
    assert not is_logged_in_as(again, doctor)


def test_a_code_two_steps_away_is_refused(client: Client, doctor: User) -> None:
    secret = turn_on_app(doctor)
    with time_machine.travel(timezone.now() + timezone.timedelta(seconds=120), tick=False):
        post_password(client, doctor.email)
        response = post_code(client, "app", code_at(secret, -2))

    assert response.status_code == 400
    assert not is_logged_in_as(client, doctor)


def test_a_replayed_code_is_refused_even_in_the_same_step(client: Client, doctor: User) -> None:
    secret = turn_on_app(doctor)
    code = fresh_code(secret)
    post_password(client, doctor.email)
    post_code(client, "app", code)
    client.post("/accounts/logout/")

    post_password(client, doctor.email)
    response = post_code(client, "app", code)

    assert response.status_code == 400
    assert not is_logged_in_as(client, doctor)


def test_an_older_code_is_refused_after_a_newer_one(client: Client, doctor: User) -> None:
    secret = turn_on_app(doctor)
    with time_machine.travel(timezone.now() + timezone.timedelta(seconds=90), tick=False):
        post_password(client, doctor.email)
        assert post_code(client, "app", code_at(secret, 1))["Location"] == "/"
        other = Client()
        post_password(other, doctor.email)
        response = post_code(other, "app", code_at(secret, 0))

    assert response.status_code == 400


def test_wrong_codes_count_towards_the_lock(client: Client, doctor: User) -> None:
    turn_on_app(doctor)
    # Two wrong passwords first: the right one doesn't forgive them before the second step.
    post_password(client, doctor.email, "wrong password 1")
    post_password(client, doctor.email, "wrong password 2")
    post_password(client, doctor.email)
    for _ in range(2):
        assert post_code(client, "app", "000000").status_code == 400
    doctor.refresh_from_db()
    assert doctor.failed_logins == 4
    assert doctor.locked_at is None

    response = post_code(client, "app", "000000")

    doctor.refresh_from_db()
    assert doctor.locked_at is not None
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert "locked" in client.get("/accounts/login/").content.decode()
    assert AuditEvent.objects.filter(event="accounts:login:second_step_failed").count() == 3
    assert AuditEvent.objects.filter(event="accounts:user:locked").count() == 1


def test_a_locked_account_can_not_finish_the_second_step(client: Client, doctor: User) -> None:
    secret = turn_on_app(doctor)
    post_password(client, doctor.email)
    User.objects.filter(pk=doctor.pk).update(locked_at=timezone.now())

    response = post_code(client, "app", fresh_code(secret))

    assert response["Location"] == "/accounts/login/"
    assert not is_logged_in_as(client, doctor)


def test_the_right_code_forgives_earlier_wrong_tries(client: Client, doctor: User) -> None:
    secret = turn_on_app(doctor)
    post_password(client, doctor.email)
    post_code(client, "app", "000000")

    post_code(client, "app", fresh_code(secret))

    doctor.refresh_from_db()
    assert doctor.failed_logins == 0


def test_every_second_step_try_is_rate_limited(settings: Any, client: Client, doctor: User) -> None:
    settings.SECUREMAIL_RATE_LIMITS = {**settings.SECUREMAIL_RATE_LIMITS, "second_step": "2/5m"}
    settings.SECUREMAIL_MAX_FAILED_LOGINS = 50
    secret = turn_on_app(doctor)
    post_password(client, doctor.email)
    post_code(client, "app", "000000")
    post_code(client, "app", "000000")

    response = post_code(client, "app", fresh_code(secret))

    assert response.status_code == 429
    assert "Too many tries" in response.content.decode()
    assert not is_logged_in_as(client, doctor)


def test_posting_the_second_step_without_the_password_fails(client: Client, doctor: User) -> None:
    secret = turn_on_app(doctor)

    response = post_code(client, "app", fresh_code(secret))

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert not is_logged_in_as(client, doctor)
    assert client.get("/accounts/login/second-step/")["Location"] == "/accounts/login/"
    assert client.post("/accounts/login/second-step/text/")["Location"] == "/accounts/login/"


def test_a_second_step_started_in_one_browser_can_not_be_finished_in_another(
    doctor: User,
) -> None:
    secret = turn_on_app(doctor)
    first, second = Client(), Client()
    post_password(first, doctor.email)

    response = post_code(second, "app", fresh_code(secret))

    assert response["Location"] == "/accounts/login/"
    assert not is_logged_in_as(second, doctor)
    assert not is_logged_in_as(first, doctor)
    # Not even with the first browser's old session id: the password step gave it a new one.
    assert post_code(first, "app", fresh_code(secret))["Location"] == "/"


def test_the_second_step_session_is_not_the_one_before_the_password(doctor: User) -> None:
    turn_on_app(doctor)
    client = Client()
    client.get("/accounts/login/")
    client.session.save()
    planted = client.session.session_key

    post_password(client, doctor.email)

    assert client.session.session_key != planted


def test_the_second_step_must_follow_the_password_soon(client: Client, doctor: User) -> None:
    secret = turn_on_app(doctor)
    post_password(client, doctor.email)

    with time_machine.travel(timezone.now() + timezone.timedelta(minutes=11)):
        response = post_code(client, "app", code_at(secret, 0))

    assert response["Location"] == "/accounts/login/"
    assert not is_logged_in_as(client, doctor)


def test_a_recovery_code_works_once(client: Client, doctor: User) -> None:
    started = setup.start_app(user=doctor)
    import pyotp

    codes = setup.confirm_app(user=doctor, code=pyotp.TOTP(started.secret).now())
    assert len(codes) == 10
    post_password(client, doctor.email)

    response = post_code(client, "recovery", codes[3].upper().replace("-", " "))

    assert response["Location"] == "/"
    assert RecoveryCode.objects.filter(user=doctor, used_at__isnull=False).count() == 1
    assert AuditEvent.objects.get(event="accounts:recovery_codes:use").data == {"left": 9}
    notice = MAILBOX.last_to(doctor.email)
    assert "recovery code was used" in notice.subject + notice.text
    assert "9 recovery codes left" in notice.text
    assert codes[3] not in notice.text + notice.html

    other = Client()
    post_password(other, doctor.email)
    again = post_code(other, "recovery", codes[3])
    assert again.status_code == 400
    assert "used already" in again.content.decode()
    assert not is_logged_in_as(other, doctor)


def test_recovery_codes_are_stored_hashed(doctor: User) -> None:
    import pyotp

    started = setup.start_app(user=doctor)
    codes = setup.confirm_app(user=doctor, code=pyotp.TOTP(started.secret).now())

    stored = list(RecoveryCode.objects.filter(user=doctor).values_list("code_hash", flat=True))
    assert len(stored) == 10
    for code in codes:
        assert code not in stored
        assert code.replace("-", "") not in stored


def test_a_code_by_text_message_finishes_the_login(client: Client, doctor: User) -> None:
    _turn_on_text(doctor)
    post_password(client, doctor.email)
    page = client.get("/accounts/login/second-step/?method=text")
    assert "Text me a code" in page.content.decode()

    sent = client.post("/accounts/login/second-step/text/")
    assert sent.status_code == 302
    assert AuditEvent.objects.filter(
        event="accounts:code:send", actor=doctor, data={"purpose": "sign_in"}
    ).exists()
    code = MAILBOX.code(doctor.phone.lstrip("+") + "@sms.invalid")
    response = post_code(client, "text", code)

    assert response["Location"] == "/"
    assert is_logged_in_as(client, doctor)
    # Used once: the same code can't open another login.
    other = Client()
    post_password(other, doctor.email)
    assert post_code(other, "text", code).status_code == 400


def test_a_text_code_for_another_purpose_does_not_finish_the_login(
    client: Client, doctor: User
) -> None:
    _turn_on_text(doctor)
    setup.send_text_setup_code(user=doctor)
    code = MAILBOX.code(doctor.phone.lstrip("+") + "@sms.invalid")
    post_password(client, doctor.email)

    assert post_code(client, "text", code).status_code == 400


def test_a_method_not_set_up_is_refused(client: Client, doctor: User) -> None:
    turn_on_app(doctor)
    post_password(client, doctor.email)

    response = post_code(client, "text", "123456")

    assert response.status_code == 400
    assert not is_logged_in_as(client, doctor)


def test_bad_input_at_the_second_step_is_a_clear_400(client: Client, doctor: User) -> None:
    turn_on_app(doctor)
    post_password(client, doctor.email)

    for data in [
        {},
        {"method": "app"},
        {"method": "nonsense", "code": "1"},
        {"method": "app", "code": "x" * 500},
    ]:
        response = client.post("/accounts/login/second-step/", data)
        assert response.status_code == 400, data


def test_django_authenticate_refuses_the_password_alone(doctor: User) -> None:
    turn_on_app(doctor)

    assert not Client().login(username=doctor.email, password="correct horse battery staple 42")


def _turn_on_text(user: User) -> None:
    setup.send_text_setup_code(user=user)
    code = MAILBOX.code(user.phone.lstrip("+") + "@sms.invalid")
    setup.confirm_text(user=user, code=code)
