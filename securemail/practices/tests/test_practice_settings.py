"""/practice/settings/: the practice's user manager decides whether its invitees verify a
phone; with it off, the wizard has no verify step and the phone stays unverified."""

import re
from typing import Any

import pytest
from django.test import Client

from securemail.accounts.models import Practice, User
from securemail.audit.models import AuditEvent
from securemail.onboarding.models import PhoneVerification
from securemail.onboarding.tests.helpers import (
    MAILBOX,
    PHONE_INBOX,
    accept_terms,
    finish_wizard,
    invite,
    post_specialty,
    post_you,
    start,
)

pytestmark = pytest.mark.django_db

URL = "/practice/settings/"
EMAIL = "new.doctor@example.test"


def _ticked(page: Any) -> bool:
    checkbox = re.search(
        r'<input[^>]*name="require_phone_verification"[^>]*>', page.content.decode()
    )
    assert checkbox, "no checkbox on the page"
    return " checked" in checkbox.group(0)


def _switch_off(client: Client) -> Any:
    # An unticked checkbox is simply absent from the form data.
    return client.post(URL, {"csrfmiddlewaretoken": "x"})


def test_the_manager_sees_the_setting_switched_on_by_default(login: Any, doctor: User) -> None:
    page = login(doctor).get(URL)

    assert page.status_code == 200
    assert "People our practice invites must verify their phone" in page.content.decode()
    assert _ticked(page)


def test_the_manager_can_switch_verification_off_and_on_again(
    login: Any, doctor: User, practice: Practice
) -> None:
    client = login(doctor)

    off = _switch_off(client)

    assert off.status_code == 302
    assert off["Location"] == URL
    practice.refresh_from_db()
    assert practice.require_phone_verification is False
    page = client.get(URL)
    assert "Practice settings saved." in page.content.decode()
    assert not _ticked(page)
    event = AuditEvent.objects.get(event="practices:practice:phone_verification")
    assert event.actor_id == doctor.pk
    assert event.practice_id == practice.pk
    assert event.data == {"required": False}

    client.post(URL, {"require_phone_verification": "on"})

    practice.refresh_from_db()
    assert practice.require_phone_verification is True
    events = AuditEvent.objects.filter(event="practices:practice:phone_verification")
    assert [e.data["required"] for e in events] == [False, True]


@pytest.mark.parametrize("persona", ["staff", "free_staff"])
def test_a_member_who_is_not_the_manager_is_refused(
    persona: str, request: Any, login: Any, practice: Practice
) -> None:
    client = login(request.getfixturevalue(persona))

    page = client.get(URL)
    post = _switch_off(client)

    for response in (page, post):
        assert response.status_code == 403
        assert "Only your practice's user manager can change these settings." in (
            response.content.decode().replace("&#x27;", "'")
        )
    practice.refresh_from_db()
    assert practice.require_phone_verification is True
    assert not AuditEvent.objects.filter(event="practices:practice:phone_verification").exists()


def test_a_patient_without_a_practice_is_refused(login: Any, patient: User) -> None:
    response = _switch_off(login(patient))

    assert response.status_code == 403
    assert not AuditEvent.objects.filter(event="practices:practice:phone_verification").exists()


def test_anonymous_visitors_are_sent_to_log_in(practice: Practice) -> None:
    client = Client()

    page = client.get(URL)
    post = _switch_off(client)

    for response in (page, post):
        assert response.status_code == 302
        assert response["Location"] == f"/accounts/login/?next={URL}"
    practice.refresh_from_db()
    assert practice.require_phone_verification is True


def test_another_practices_manager_changes_only_their_own_practice(
    login: Any, other_doctor: User, practice: Practice, other_practice: Practice
) -> None:
    _switch_off(login(other_doctor))

    practice.refresh_from_db()
    other_practice.refresh_from_db()
    assert practice.require_phone_verification is True
    assert other_practice.require_phone_verification is False


def test_with_verification_off_the_wizard_has_no_verify_step_and_completes(
    login: Any, doctor: User, practice: Practice
) -> None:
    _switch_off(login(doctor))
    invitation, join_path = invite(doctor, EMAIL, "doctor_my_practice")

    landing = Client().get(join_path)
    client = start(join_path)
    you = client.get("/register/you/")
    post_you(client)
    after_specialty = post_specialty(client)
    jump = client.get("/register/verify/")
    finished = accept_terms(client)

    assert b"send a code to your phone" not in landing.content
    assert "Verify your phone" not in you.content.decode()
    assert "Step 1 of 3" in you.content.decode()
    assert after_specialty["Location"] == "/register/terms/"
    assert jump["Location"] == "/register/terms/"
    assert finished["Location"] == "/register/done/"
    invitee = User.objects.get(email=EMAIL)
    assert invitee.status == User.Status.REGISTERED
    assert invitee.phone == "+12025550177"
    assert invitee.phone_verified_at is None
    assert not PhoneVerification.objects.filter(invitation=invitation).exists()
    assert MAILBOX.to(PHONE_INBOX) == []


def test_switching_verification_off_helps_an_invitee_already_in_the_wizard(
    login: Any, doctor: User
) -> None:
    _, join_path = invite(doctor, EMAIL, "staff_my_practice")
    client = start(join_path)
    assert post_you(client)["Location"] == "/register/verify/"

    _switch_off(login(doctor))

    assert client.get("/register/")["Location"] == "/register/terms/"
    assert accept_terms(client)["Location"] == "/register/done/"
    assert User.objects.get(email=EMAIL).phone_verified_at is None


def test_another_practices_setting_does_not_change_our_invitees_wizard(
    login: Any, doctor: User, other_doctor: User
) -> None:
    _switch_off(login(other_doctor))
    _, join_path = invite(doctor, EMAIL, "staff_my_practice")
    client = start(join_path)

    assert post_you(client)["Location"] == "/register/verify/"


def test_with_verification_on_again_new_invitees_verify(login: Any, doctor: User) -> None:
    manager = login(doctor)
    _switch_off(manager)
    manager.post(URL, {"require_phone_verification": "on"})
    _, join_path = invite(doctor, EMAIL, "patient")
    client = start(join_path)

    assert post_you(client)["Location"] == "/register/verify/"
    finish_wizard(client)
    assert User.objects.get(email=EMAIL).phone_verified_at is not None
