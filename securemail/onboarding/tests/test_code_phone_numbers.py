"""Verification codes go only to a person's own phone (issue 9, toll fraud): the "About you"
step refuses premium-rate, shared-cost, toll-free, satellite and other numbers that are no
person's phone, and numbers outside the countries the operator allows, saying why; the
service that sends codes refuses them too, whatever was stored. Phones no code goes to (a
practice's, an office phone) only need to be valid."""

from html import unescape
from typing import Any

import pytest
from django.test import Client

from securemail.accounts.models import User
from securemail.audit.models import AuditEvent
from securemail.notifications.models import OutboxText
from securemail.onboarding import services
from securemail.onboarding.errors import OnboardingError
from securemail.onboarding.models import Invitation, PhoneVerification, WizardState
from securemail.onboarding.tests.helpers import (
    PHONE_E164,
    invite,
    post_practice,
    post_you,
    send_code,
    start,
)

pytestmark = pytest.mark.django_db

EMAIL = "new.person@example.test"
PREMIUM = "+1 900 555 0123"
REFUSED = {
    PREMIUM: "This is a premium-rate number: we can't send codes to it.",
    "+44 909 879 0123": "This is a premium-rate number: we can't send codes to it.",
    "+881 6 1234 5678": (
        "This is an international or satellite network number: we can't send codes to it."
    ),
    "+61 1300 123 456": "This is a shared-cost number: we can't send codes to it.",
    "(800) 212-3456": "This is a toll-free number: we can't send codes to it.",
}
US_AND_CANADA = "We can only send codes to phones in these countries: United States, Canada."


def _text(response: Any) -> str:
    return " ".join(unescape(response.content.decode()).split())


def _state(invitation: Invitation) -> WizardState:
    invitation.refresh_from_db()
    return WizardState.load(invitation)


def _on_about_you(doctor: User, role: str) -> tuple[Invitation, Client]:
    invitation, join_path = invite(doctor, EMAIL, role)
    return invitation, start(join_path)


@pytest.mark.parametrize(("number", "reason"), list(REFUSED.items()))
@pytest.mark.parametrize("role", ["staff_my_practice", "patient"])
def test_about_you_refuses_a_number_that_is_no_persons_phone_and_says_why(
    number: str, reason: str, role: str, doctor: User
) -> None:
    invitation, client = _on_about_you(doctor, role)

    response = post_you(client, phone=number)

    assert response.status_code == 400
    assert f"{reason} Enter your own cell phone or landline." in _text(response)
    assert _state(invitation).phone is None
    # The step is not done: the code step can't be reached.
    assert client.get("/register/verify/").status_code == 302


def test_about_you_takes_a_persons_phone(doctor: User) -> None:
    invitation, client = _on_about_you(doctor, "staff_my_practice")

    response = post_you(client)

    assert response["Location"] == "/register/verify/"
    assert _state(invitation).phone == PHONE_E164


def test_a_stored_number_that_is_no_persons_phone_gets_no_code_by_text_or_call(
    doctor: User,
) -> None:
    invitation, client = _on_about_you(doctor, "patient")
    assert post_you(client)["Location"] == "/register/verify/"
    # Stored before numbers were checked (or by any way round the form).
    state = _state(invitation)
    state.phone = "+19005550123"
    state.save(invitation)

    for channel in ("sms", "voice"):
        response = send_code(client, channel)

        assert response.status_code == 400
        assert (
            "This is a premium-rate number: we can't send codes to it. Change your number, "
            "or get the code by email." in _text(response)
        )
    with pytest.raises(OnboardingError, match="premium-rate"):
        services.send_code(invitation=invitation, channel="voice")
    assert not PhoneVerification.objects.exists()
    assert not OutboxText.objects.exists()
    assert not AuditEvent.objects.filter(event="onboarding:code:send").exists()
    # The email fallback still works.
    assert send_code(client, "email").status_code == 302
    assert PhoneVerification.objects.get().channel == "email"


def test_the_operators_country_list_is_kept_by_about_you_and_by_sending(
    doctor: User, settings: Any
) -> None:
    settings.SECUREMAIL_CODE_COUNTRIES = ["US", "CA"]
    _, client = _on_about_you(doctor, "staff_my_practice")

    # Jamaica is inside +1, but not in the list; nor is the UK.
    for elsewhere in ("+1 876 456 7890", "+44 7400 123456"):
        response = post_you(client, phone=elsewhere)
        assert response.status_code == 400
        assert US_AND_CANADA in _text(response)
    assert post_you(client, phone="+1 416 555 0123")["Location"] == "/register/verify/"
    assert send_code(client, "sms").status_code == 302
    assert PhoneVerification.objects.get().destination == "+14165550123"

    # A number stored while the list was wider gets no code once it is narrowed.
    settings.SECUREMAIL_CODE_COUNTRIES = ["US"]
    response = send_code(client, "sms")

    assert response.status_code == 400
    assert "We can only send codes to phones in these countries: United States." in _text(response)
    assert OutboxText.objects.count() == 1


def test_a_practice_phone_and_an_office_phone_need_only_be_valid(doctor: User, login: Any) -> None:
    invitation, client = _on_about_you(doctor, "doctor_other_practice")

    # A practice's number is often toll-free: no code goes to it.
    response = post_practice(client, phone="(800) 212-3456")

    assert response.status_code == 302
    practice = _state(invitation).practice
    assert practice is not None
    assert practice.phone == "+18002123456"
    invalid = post_practice(client, phone="(555) 555-5555")
    assert invalid.status_code == 400

    profile = login(doctor).post(
        "/accounts/profile/",
        {
            "full_name": doctor.full_name,
            "office_phone": "(800) 212-3456",
            "time_zone": doctor.time_zone,
            "signature": "",
            "default_expiry_days": "5",
            "notify_by": User.Notify.EMAIL,
        },
    )
    assert profile.status_code == 302
    doctor.refresh_from_db()
    assert doctor.office_phone == "+18002123456"
