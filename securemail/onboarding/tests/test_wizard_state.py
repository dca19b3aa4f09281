"""The wizard's typed state is stored in Invitation.wizard_data in the shape it always had
(no data migration): flat keys, each only once its step has given it."""

import pytest
from django.test import Client

from securemail.accounts.models import User
from securemail.onboarding.models import (
    Invitation,
    PracticeDetails,
    Step,
    VerifiedPhone,
    WizardState,
)
from securemail.onboarding.tests.helpers import (
    PHONE_E164,
    VALID_NPI,
    invite,
    post_practice,
    post_specialty,
    post_you,
    start,
    verify_phone,
)

pytestmark = pytest.mark.django_db

EMAIL = "new.doctor@example.test"

# What a doctor of another practice had saved, in the stored shape, before WizardState.
STORED = {
    "done": ["practice", "you", "specialty", "verify"],
    "practice": {
        "name": "Lakeview Family Dentistry",
        "website": "",
        "phone": "+13125550188",
        "address_line1": "9 Lake Shore Drive",
        "address_line2": "",
        "city": "Chicago",
        "state": "IL",
        "postal_code": "60601",
    },
    "full_name": "Alex Newman",
    "phone": PHONE_E164,
    "phone_type": "cell",
    "specialty": "endodontics",
    "procedures": ["apicoectomy", "root-canal-treatment"],
    "npi": "",
    "verified": {"channel": "sms", "phone": PHONE_E164},
}


def _started(doctor: User, role: str) -> tuple[Invitation, Client]:
    invitation, join_path = invite(doctor, EMAIL, role)
    return invitation, start(join_path)


def test_a_stored_state_loads_typed_and_saves_back_unchanged(doctor: User) -> None:
    invitation, _ = _started(doctor, "doctor_other_practice")
    Invitation.objects.filter(pk=invitation.pk).update(wizard_data=STORED)
    invitation.refresh_from_db()

    state = WizardState.load(invitation)
    state.save(invitation)

    assert state.done == [Step.PRACTICE, Step.YOU, Step.SPECIALTY, Step.VERIFY]
    assert state.practice == PracticeDetails(**STORED["practice"])
    assert state.verified == VerifiedPhone(channel="sms", phone=PHONE_E164)
    assert (state.specialty, state.npi) == ("endodontics", "")
    invitation.refresh_from_db()
    assert invitation.wizard_data == STORED


def test_nothing_given_is_stored_as_no_key(doctor: User) -> None:
    invitation, client = _started(doctor, "doctor_other_practice")

    WizardState.load(invitation).save(invitation)
    empty = dict(invitation.wizard_data)
    post_practice(client)
    invitation.refresh_from_db()

    assert empty == {}
    assert set(invitation.wizard_data) == {"done", "practice"}
    assert WizardState.load(invitation).full_name is None


def test_the_wizard_writes_the_stored_shape(doctor: User) -> None:
    invitation, client = _started(doctor, "doctor_other_practice")

    post_practice(client, website="")
    post_you(client)
    post_specialty(client, npi=VALID_NPI)
    verify_phone(client)

    invitation.refresh_from_db()
    assert set(invitation.wizard_data) == set(STORED)
    assert invitation.wizard_data["done"] == ["practice", "you", "specialty", "verify"]
    assert invitation.wizard_data["verified"] == {"channel": "sms", "phone": PHONE_E164}
    assert set(invitation.wizard_data["practice"]) == set(STORED["practice"])
