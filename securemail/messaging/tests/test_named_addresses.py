"""Addresses as mail clients copy them: `Name <address>`, quoted names with commas, and
commas or semicolons between them, in To, Cc and the role look-up."""

from typing import Any

import pytest

from securemail.accounts.models import User
from securemail.messaging.models import Delivery
from securemail.messaging.tests.helpers import compose

pytestmark = pytest.mark.django_db


def _recipients(kind: str) -> set[str]:
    return set(Delivery.objects.filter(kind=kind).values_list("recipient__email", flat=True))


def test_name_and_address_forms_reach_the_people_they_name(
    login: Any, doctor: User, staff: User, other_doctor: User, patient: User
) -> None:
    response = compose(
        login(doctor),
        to=f'Sam Front <{staff.email}>; "Lee, Omar" <{other_doctor.email.upper()}>',
        cc=f"Pat Smith <{patient.email}>",
    )

    assert response.status_code == 302
    assert _recipients("to") == {staff.email, other_doctor.email}
    assert _recipients("cc") == {patient.email}


def test_a_named_new_address_gets_its_role_select_in_the_lookup(login: Any, doctor: User) -> None:
    response = login(doctor).post("/compose/lookup/", {"to": "Alice Smith <alice@x.test>"})

    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="role-alice@x.test"' in page
    assert "Not a valid email address" not in page


def test_a_named_address_with_a_bad_address_names_only_the_address(
    login: Any, doctor: User
) -> None:
    response = compose(login(doctor), to="Alice Smith <alice@>")

    assert response.status_code == 400
    assert "Not valid: alice@." in response.content.decode()
    assert not Delivery.objects.exists()
