"""Finishing the same registration twice (a second tab, a second device, a double click):
the second one gets "already complete", and nothing is created or sent twice."""

import pytest
from django.test import Client

from securemail.accounts.models import Practice, User
from securemail.audit.models import AuditEvent
from securemail.notifications.models import OutboxEmail
from securemail.onboarding.models import Invitation
from securemail.onboarding.tests.helpers import (
    accept_terms,
    invite,
    post_practice,
    post_you,
    start,
    verify_phone,
)

pytestmark = pytest.mark.django_db

EMAIL = "new.manager@example.test"
ALREADY = "Your registration is already complete"


def _ready_to_finish(doctor: User) -> tuple[Invitation, str, Client]:
    """An another-practice invitee on the terms step, so finishing creates a practice."""
    invitation, join_path = invite(doctor, EMAIL, "staff_other_practice")
    client = start(join_path)
    post_practice(client)
    post_you(client)
    verify_phone(client)
    return invitation, join_path, client


def _assert_finished_once(invitation: Invitation) -> None:
    assert Practice.objects.filter(name="Lakeview Family Dentistry").count() == 1
    assert OutboxEmail.objects.filter(to_email=EMAIL, kind="set_password").count() == 1
    completed = AuditEvent.objects.filter(
        event="onboarding:registration:complete", target=f"invitation:{invitation.pk}"
    )
    assert completed.count() == 1
    invitee = User.objects.get(email=EMAIL)
    assert invitee.status == User.Status.REGISTERED
    assert invitee.practice.name == "Lakeview Family Dentistry"


def test_a_second_tab_finishing_the_same_registration_sees_already_complete(
    doctor: User,
) -> None:
    invitation, _, client = _ready_to_finish(doctor)
    # Both tabs show the terms page; the first one finishes.
    assert client.get("/register/terms/").status_code == 200
    assert accept_terms(client)["Location"].endswith("/register/done/")

    # The second tab (same browser, same session) presses "Finish registration" too.
    second = accept_terms(client)

    assert second.status_code == 409
    assert ALREADY in second.content.decode()
    assert b'href="/accounts/password/"' in second.content
    _assert_finished_once(invitation)


def test_a_second_device_finishing_the_same_registration_sees_already_complete(
    doctor: User,
) -> None:
    invitation, join_path, client = _ready_to_finish(doctor)
    # The person had also started on their phone before the laptop finished.
    phone = start(join_path)
    assert phone.get("/register/terms/").status_code == 200

    assert accept_terms(client)["Location"].endswith("/register/done/")
    second = accept_terms(phone)

    assert second.status_code == 409
    assert ALREADY in second.content.decode()
    _assert_finished_once(invitation)


def test_changing_details_after_finishing_is_refused(doctor: User) -> None:
    invitation, join_path, client = _ready_to_finish(doctor)
    phone = start(join_path)
    accept_terms(client)

    page = phone.get("/register/you/")
    changed = post_you(phone, full_name="Someone Else", phone="(312) 555-0143")

    assert page.status_code == 409
    assert ALREADY in page.content.decode()
    # The session forgets the finished registration: the wizard is closed for good.
    assert changed.status_code == 404
    invitee = User.objects.get(email=EMAIL)
    assert invitee.full_name == "Alex Newman"
    assert invitee.phone == "+12025550177"
    invitation.refresh_from_db()
    assert invitation.wizard_data["full_name"] == "Alex Newman"
    _assert_finished_once(invitation)
