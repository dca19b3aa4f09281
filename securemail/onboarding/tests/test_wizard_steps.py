"""The registration wizard's steps: bad input gets a clear message (400) and saves nothing;
steps can't be skipped; a changed phone is verified again; patients may use a landline;
the email code is the fallback."""

from typing import Any

import pytest
from django.test import Client

from securemail.accounts.models import Practice, User
from securemail.notifications.models import OutboxEmail
from securemail.onboarding.models import Invitation, PhoneVerification
from securemail.onboarding.tests.helpers import (
    INVALID_LINK_TEXT,
    MAILBOX,
    OTHER_PHONE,
    OTHER_PHONE_E164,
    OTHER_PHONE_INBOX,
    PHONE_E164,
    PHONE_INBOX,
    VALID_NPI,
    accept_terms,
    enter_code,
    invite,
    post_practice,
    post_specialty,
    post_you,
    send_code,
    start,
    usual_procedures,
    verify_phone,
)

pytestmark = pytest.mark.django_db

EMAIL = "new.invitee@example.test"


def _started(doctor: User, role: str) -> tuple[Invitation, Client]:
    invitation, join_path = invite(doctor, EMAIL, role)
    return invitation, start(join_path)


def _assert_rejected(response: Any, invitation: Invitation, message: str) -> None:
    """400, the message shown next to the form, and nothing saved."""
    before = invitation.wizard_data
    assert response.status_code == 400
    assert message in response.content.decode()
    assert "Please correct the errors below." in response.content.decode()
    invitation.refresh_from_db()
    assert invitation.wizard_data == before


# --- about you --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"full_name": ""}, "This field is required."),
        ({"full_name": "   "}, "This field is required."),
        ({"full_name": "A"}, "Enter your full name."),
        ({"phone": ""}, "This field is required."),
        ({"phone": "call me maybe"}, "Enter a valid phone number, e.g. (555) 201-4567."),
        ({"phone": "(202) 555-01"}, "This phone number is not valid."),
        ({"phone": "(000) 555-0177"}, "This phone number is not valid."),
    ],
)
def test_bad_details_about_you_get_a_clear_message_and_save_nothing(
    changes: dict[str, str], message: str, doctor: User
) -> None:
    invitation, client = _started(doctor, "staff_my_practice")

    response = post_you(client, **changes)

    _assert_rejected(response, invitation, message)
    assert client.get("/register/")["Location"].endswith("/register/you/")
    invitee = User.objects.get(email=EMAIL)
    assert invitee.full_name == ""
    assert invitee.phone == ""


def test_a_name_is_saved_with_its_spaces_tidied_and_the_phone_in_e164(doctor: User) -> None:
    invitation, client = _started(doctor, "staff_my_practice")

    response = post_you(client, full_name="  Alex   Newman ", phone="202.555.0177")

    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.wizard_data["full_name"] == "Alex Newman"
    assert invitation.wizard_data["phone"] == PHONE_E164


# --- specialty and procedures ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"npi": "1234567890"}, "This NPI&#x27;s check digit is wrong. Check it for typos."),
        ({"npi": "12345"}, "An NPI has exactly 10 digits."),
        ({"npi": "12345abcde"}, "An NPI has exactly 10 digits."),
        ({"procedures": []}, "Select at least one procedure you perform."),
        ({"specialty": ""}, "This field is required."),
        ({"specialty": "astrology"}, "Select a valid choice."),
        ({"procedures": ["palm-reading"]}, "Select a valid choice."),
    ],
)
def test_bad_specialty_answers_get_a_clear_message_and_save_nothing(
    changes: dict[str, Any], message: str, doctor: User
) -> None:
    invitation, client = _started(doctor, "doctor_my_practice")
    post_you(client)
    invitation.refresh_from_db()

    response = post_specialty(client, **changes)

    _assert_rejected(response, invitation, message)
    assert "specialty" not in invitation.wizard_data
    assert client.get("/register/terms/")["Location"].endswith("/register/specialty/")


def test_an_npi_typed_with_spaces_is_accepted(doctor: User) -> None:
    invitation, client = _started(doctor, "doctor_my_practice")
    post_you(client)

    response = post_specialty(client, npi="1234 567 893")

    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.wizard_data["npi"] == VALID_NPI


def test_a_doctor_may_leave_the_npi_out(doctor: User) -> None:
    invitation, client = _started(doctor, "doctor_my_practice")
    post_you(client)

    response = post_specialty(client, npi="")

    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.wizard_data["npi"] == ""


def test_show_procedures_without_javascript_ticks_the_usual_ones_and_saves_nothing(
    doctor: User,
) -> None:
    invitation, client = _started(doctor, "doctor_my_practice")
    post_you(client)
    invitation.refresh_from_db()
    before = invitation.wizard_data

    # The "Show procedures" button: a GET of the procedures URL, without htmx's header.
    response = client.get(
        "/register/specialty/procedures/", {"specialty": "endodontics", "npi": "1234 567 893"}
    )

    assert response.status_code == 200
    page = response.content.decode()
    for slug in usual_procedures("endodontics"):
        assert f'value="{slug}" checked' in page
    invitation.refresh_from_db()
    assert invitation.wizard_data == before


def test_show_procedures_without_javascript_answers_the_whole_step_posting_to_the_step(
    doctor: User,
) -> None:
    _, client = _started(doctor, "doctor_my_practice")
    post_you(client)
    step_page = client.get("/register/specialty/").content.decode()

    response = client.get(
        "/register/specialty/procedures/", {"specialty": "endodontics", "npi": VALID_NPI}
    )

    page = response.content.decode()
    assert "<h1>Specialty and procedures" in page
    # The answers are posted to the step, whichever URL showed them.
    assert '<form method="post" action="/register/specialty/"' in page
    assert '<option value="endodontics" selected>' in page
    assert f'value="{VALID_NPI}"' in page
    assert "HX-Request" in response["Vary"]
    # The button is a GET of the procedures URL (no JavaScript needed), hidden with it.
    assert (
        'formaction="/register/specialty/procedures/" formmethod="get" class="secondary js-hide"'
        in step_page
    )
    assert 'name="choose_specialty"' not in step_page
    # Continuing from that page saves the specialty.
    assert post_specialty(client)["Location"] == "/register/verify/"


def test_htmx_gets_only_the_procedures_fragment(doctor: User) -> None:
    _, client = _started(doctor, "doctor_my_practice")
    post_you(client)

    response = client.get(
        "/register/specialty/procedures/",
        {"specialty": "endodontics"},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    fragment = response.content.decode()
    assert fragment.lstrip().startswith('<fieldset id="procedures"')
    assert "<h1>" not in fragment
    for slug in usual_procedures("endodontics"):
        assert f'value="{slug}" checked' in fragment
    assert "HX-Request" in response["Vary"]


def test_the_procedures_url_keeps_the_wizard_rules(doctor: User) -> None:
    _, doctor_client = _started(doctor, "doctor_my_practice")
    _, patient_join = invite(doctor, "new.patient@example.test", "patient")
    patient = start(patient_join)
    query = {"specialty": "endodontics"}

    too_early = doctor_client.get("/register/specialty/procedures/", query)
    not_for_patients = patient.get("/register/specialty/procedures/", query)
    anonymous = Client().get("/register/specialty/procedures/", query)
    post_you(doctor_client)
    posted = doctor_client.post("/register/specialty/procedures/", query)

    assert too_early["Location"] == "/register/you/"
    assert not_for_patients["Location"] == "/register/you/"
    assert anonymous.status_code == 404
    assert INVALID_LINK_TEXT in anonymous.content.decode()
    assert posted.status_code == 405


# --- the practice (another-practice roles) ----------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": ""}, "This field is required."),
        ({"address_line1": ""}, "This field is required."),
        ({"city": "", "postal_code": ""}, "This field is required."),
        ({"website": "not a website"}, "Enter a valid URL."),
        ({"website": "http://"}, "Enter a valid URL."),
        ({"phone": "12"}, "This phone number is not valid."),
    ],
)
def test_bad_practice_details_get_a_clear_message_and_save_nothing(
    changes: dict[str, str], message: str, doctor: User
) -> None:
    invitation, client = _started(doctor, "doctor_other_practice")
    practices_before = Practice.objects.count()

    response = post_practice(client, **changes)

    _assert_rejected(response, invitation, message)
    assert Practice.objects.count() == practices_before
    assert client.get("/register/")["Location"].endswith("/register/practice/")


def test_the_practice_website_is_optional(doctor: User) -> None:
    invitation, client = _started(doctor, "staff_other_practice")

    response = post_practice(client, website="")

    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.wizard_data["practice"]["website"] == ""


# --- order of the steps -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "url", "first_unfinished"),
    [
        ("staff_my_practice", "/register/terms/", "/register/you/"),
        ("staff_my_practice", "/register/verify/", "/register/you/"),
        ("doctor_my_practice", "/register/verify/", "/register/you/"),
        ("doctor_other_practice", "/register/you/", "/register/practice/"),
        ("doctor_other_practice", "/register/specialty/", "/register/practice/"),
        ("staff_other_practice", "/register/terms/", "/register/practice/"),
        ("patient", "/register/terms/", "/register/you/"),
    ],
)
def test_jumping_ahead_redirects_to_the_first_unfinished_step(
    role: str, url: str, first_unfinished: str, doctor: User
) -> None:
    _, client = _started(doctor, role)

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == first_unfinished


def test_a_doctor_who_skips_the_specialty_is_sent_back_to_it(doctor: User) -> None:
    _, client = _started(doctor, "doctor_my_practice")
    post_you(client)

    assert client.get("/register/verify/")["Location"] == "/register/specialty/"
    assert client.get("/register/terms/")["Location"] == "/register/specialty/"


def test_posting_the_terms_early_finishes_nothing(doctor: User) -> None:
    invitation, client = _started(doctor, "staff_my_practice")
    post_you(client)

    response = accept_terms(client)

    assert response.status_code == 302
    assert response["Location"] == "/register/verify/"
    invitation.refresh_from_db()
    assert invitation.used_at is None
    assert User.objects.get(email=EMAIL).status == User.Status.STARTED
    assert not OutboxEmail.objects.filter(kind="set_password").exists()


@pytest.mark.parametrize(
    ("role", "url", "next_step"),
    [
        ("staff_my_practice", "/register/practice/", "/register/you/"),
        ("doctor_my_practice", "/register/practice/", "/register/you/"),
        ("patient", "/register/specialty/", "/register/you/"),
        ("patient", "/register/practice/", "/register/you/"),
        ("staff_other_practice", "/register/specialty/", "/register/practice/"),
    ],
)
def test_a_step_that_is_not_for_this_role_redirects_and_saves_nothing(
    role: str, url: str, next_step: str, doctor: User
) -> None:
    invitation, client = _started(doctor, role)
    practices_before = Practice.objects.count()

    response = client.post(url, {"name": "Sneaky Clinic", "specialty": "endodontics"})

    assert response.status_code == 302
    assert response["Location"] == next_step
    invitation.refresh_from_db()
    assert invitation.wizard_data == {}
    assert Practice.objects.count() == practices_before


def test_an_unknown_step_is_not_found(doctor: User) -> None:
    _, client = _started(doctor, "patient")

    assert client.get("/register/billing/").status_code == 404


def test_terms_must_be_accepted_to_finish(doctor: User) -> None:
    invitation, client = _started(doctor, "staff_my_practice")
    post_you(client)
    verify_phone(client)

    # A browser sends the form's CSRF token even with the box left unticked.
    response = client.post("/register/terms/", {"csrfmiddlewaretoken": "x"})

    assert response.status_code == 400
    assert "Accept the terms of use to finish." in response.content.decode()
    invitation.refresh_from_db()
    assert invitation.used_at is None
    assert User.objects.get(email=EMAIL).status == User.Status.STARTED


# --- changing the phone -----------------------------------------------------------------------


def test_changing_the_phone_after_verifying_requires_verifying_again(doctor: User) -> None:
    invitation, client = _started(doctor, "staff_my_practice")
    post_you(client)
    assert verify_phone(client)["Location"] == "/register/terms/"

    response = post_you(client, phone=OTHER_PHONE)

    assert response["Location"] == "/register/verify/"
    assert client.get("/register/terms/")["Location"] == "/register/verify/"
    invitation.refresh_from_db()
    assert "verified" not in invitation.wizard_data
    assert "verify" not in invitation.wizard_data["done"]
    page = client.get("/register/verify/")
    assert "(•••) •••-0143" in page.content.decode()
    # A code to the new number verifies it, and that is the number the account keeps.
    assert send_code(client, "sms").status_code == 302
    assert enter_code(client, MAILBOX.code(OTHER_PHONE_INBOX))["Location"] == "/register/terms/"
    accept_terms(client)
    invitee = User.objects.get(email=EMAIL)
    assert invitee.phone == OTHER_PHONE_E164
    assert invitee.phone_verified_at is not None


def test_saving_the_same_phone_again_keeps_it_verified(doctor: User) -> None:
    invitation, client = _started(doctor, "staff_my_practice")
    post_you(client)
    verify_phone(client)

    # Same number, written differently; only the name changes.
    response = post_you(client, full_name="Alex J. Newman", phone="+1 202 555 0177")

    assert response["Location"] == "/register/terms/"
    invitation.refresh_from_db()
    assert invitation.wizard_data["verified"]["phone"] == PHONE_E164
    assert invitation.wizard_data["full_name"] == "Alex J. Newman"


def test_a_code_sent_to_the_old_number_does_not_verify_a_new_one(doctor: User) -> None:
    invitation, client = _started(doctor, "staff_my_practice")
    post_you(client)
    send_code(client, "sms")
    old_code = MAILBOX.code(PHONE_INBOX)

    # Before typing the code, the person goes back and enters someone else's number.
    post_you(client, phone=OTHER_PHONE)
    response = enter_code(client, old_code)

    assert response.status_code == 400
    assert "That code was sent to your previous number. Send a new code." in (
        response.content.decode()
    )
    invitation.refresh_from_db()
    assert "verified" not in invitation.wizard_data
    assert client.get("/register/terms/")["Location"] == "/register/verify/"
    assert not PhoneVerification.objects.filter(verified_at__isnull=False).exists()


# --- landlines --------------------------------------------------------------------------------


def test_a_patient_with_a_landline_is_refused_a_text_and_verifies_by_voice_call(
    doctor: User,
) -> None:
    invitation, client = _started(doctor, "patient")
    assert b"Cell phone or landline" in client.get("/register/you/").content
    post_you(client, phone_type="landline")

    page = client.get("/register/verify/")
    assert b"Text me a code" not in page.content
    assert b"Call me with a code" in page.content
    assert "(landline)" in page.content.decode()

    text = send_code(client, "sms")
    assert text.status_code == 400
    assert "A landline can&#x27;t receive text messages: choose a voice call." in (
        text.content.decode()
    )
    assert not PhoneVerification.objects.filter(invitation=invitation).exists()
    assert MAILBOX.to(PHONE_INBOX) == []

    call = send_code(client, "voice")
    assert call.status_code == 302
    [spoken] = MAILBOX.to(PHONE_INBOX)
    assert spoken.subject == f"Voice call to {PHONE_E164}"
    assert "Your SecureMail verification code is" in spoken.text
    assert PhoneVerification.objects.get(invitation=invitation).channel == "voice"
    assert enter_code(client, MAILBOX.code(PHONE_INBOX))["Location"] == "/register/terms/"
    accept_terms(client)

    invitee = User.objects.get(email=EMAIL)
    assert invitee.phone == PHONE_E164
    assert invitee.phone_type == User.PhoneType.LANDLINE
    assert invitee.phone_verified_at is not None


def test_a_cell_phone_can_get_its_code_by_voice_call_too(doctor: User) -> None:
    _, client = _started(doctor, "staff_my_practice")
    post_you(client)

    assert send_code(client, "voice").status_code == 302

    assert MAILBOX.last_to(PHONE_INBOX).subject == f"Voice call to {PHONE_E164}"
    assert enter_code(client, MAILBOX.code(PHONE_INBOX))["Location"] == "/register/terms/"


@pytest.mark.parametrize("role", ["staff_my_practice", "doctor_other_practice"])
def test_only_patients_can_choose_a_landline(role: str, doctor: User) -> None:
    invitation, client = _started(doctor, role)
    if role.endswith("other_practice"):
        post_practice(client)

    page = client.get("/register/you/")
    post_you(client, phone_type="landline")
    if role.startswith("doctor"):
        post_specialty(client)

    assert b"landline" not in page.content.lower()
    invitation.refresh_from_db()
    assert invitation.wizard_data["phone_type"] == "cell"
    assert b"Text me a code" in client.get("/register/verify/").content


# --- the email fallback -----------------------------------------------------------------------


def test_the_email_code_goes_through_the_outbox_to_the_invited_address(doctor: User) -> None:
    invitation, client = _started(doctor, "staff_my_practice")
    post_you(client)

    response = send_code(client, "email")

    assert response.status_code == 302
    queued = OutboxEmail.objects.get(kind="verification_code")
    assert queued.to_email == EMAIL
    assert queued.recipient_user_id == invitation.invitee_id
    assert queued.status == OutboxEmail.Status.QUEUED
    page = client.get("/register/verify/")
    assert f"We sent a new code to {EMAIL}." in page.content.decode()
    assert "by email" in page.content.decode()
    email = MAILBOX.last_to(EMAIL)
    assert email.subject == "Your SecureMail verification code"
    code = MAILBOX.code(EMAIL)
    assert code in email.html
    assert MAILBOX.to(PHONE_INBOX) == []

    assert enter_code(client, code)["Location"] == "/register/terms/"
    accept_terms(client)
    invitee = User.objects.get(email=EMAIL)
    assert invitee.status == User.Status.REGISTERED
    # An email code proves the address, not the phone.
    assert invitee.phone == PHONE_E164
    assert invitee.phone_verified_at is None


def test_a_channel_that_does_not_exist_is_refused(doctor: User) -> None:
    invitation, client = _started(doctor, "staff_my_practice")
    post_you(client)

    response = send_code(client, "carrier-pigeon")

    assert response.status_code == 400
    assert "Choose how to receive your code." in response.content.decode()
    assert not PhoneVerification.objects.filter(invitation=invitation).exists()


def test_a_csrf_token_that_went_into_the_show_procedures_url_never_works_again(
    doctor: User,
) -> None:
    import re

    _, client = _started(doctor, "doctor_my_practice")
    post_you(client)
    client.handler.enforce_csrf_checks = True
    token_of = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
    [old] = token_of.findall(client.get("/register/specialty/").content.decode())

    # Without JavaScript the button sends the whole form, token included, in the URL.
    shown = client.get(
        "/register/specialty/procedures/",
        {"csrfmiddlewaretoken": old, "specialty": "endodontics", "npi": VALID_NPI},
    )
    [fresh] = token_of.findall(shown.content.decode())
    answers = {"specialty": "endodontics", "procedures": usual_procedures("endodontics")}

    refused = client.post("/register/specialty/", {**answers, "csrfmiddlewaretoken": old})
    accepted = client.post("/register/specialty/", {**answers, "csrfmiddlewaretoken": fresh})

    assert refused.status_code == 403
    assert accepted.status_code == 302
