"""Issue 10: the user manager can require two-step login for the practice's doctors and
staff. Those without it are sent to set it up at their next page or login, and reach
nothing else until they have; they can't turn it off while it is required."""

from typing import Any

import pytest
from django.test import Client

from securemail.accounts.models import Practice, User
from securemail.accounts.tests.twostep import SoftAuthenticator, add_passkey, turn_on_app
from securemail.audit.models import AuditEvent
from tests.support import PASSWORD

pytestmark = pytest.mark.django_db


def _require(login: Any, manager: User) -> Any:
    return login(manager).post("/practice/people/two-step/", {"require_two_step": "on"})


def test_the_manager_turns_on_the_requirement_from_the_people_page(
    login: Any, doctor: User
) -> None:
    turn_on_app(doctor)
    page = login(doctor).get("/practice/people/").content.decode()
    assert "Doctors and staff must use two-step login" in page

    response = _require(login, doctor)

    assert response.status_code == 302
    assert Practice.objects.get(pk=doctor.practice_id).require_two_step
    event = AuditEvent.objects.get(event="practices:practice:two_step")
    assert event.data == {"required": True}
    assert event.practice_id == doctor.practice_id
    assert "checked" in login(doctor).get("/practice/people/").content.decode()


def test_the_manager_needs_two_step_login_first(login: Any, doctor: User) -> None:
    response = _require(login, doctor)

    assert response.status_code == 400
    assert "Turn on two-step login for yourself first" in response.content.decode()
    assert not Practice.objects.get(pk=doctor.practice_id).require_two_step


def test_only_the_manager_may_require_it(login: Any, staff: User) -> None:
    assert _require(login, staff).status_code == 403


def test_staff_without_two_step_are_sent_to_set_it_up(
    login: Any, doctor: User, staff: User
) -> None:
    turn_on_app(doctor)
    _require(login, doctor)
    client = Client()
    client.post("/accounts/login/", {"username": staff.email, "password": PASSWORD})

    for path in ["/", "/compose/", "/billing/", "/accounts/profile/"]:
        assert client.get(path)["Location"] == "/accounts/security/", path
    page = client.get("/accounts/security/").content.decode()
    assert "Your practice requires it for its doctors and staff." in page
    assert client.get("/accounts/security/app/").status_code == 200

    add_passkey(client, SoftAuthenticator())

    assert client.get("/").status_code == 200


def test_the_people_page_shows_who_has_two_step_login(
    login: Any, doctor: User, staff: User
) -> None:
    turn_on_app(staff)

    page = login(doctor).get("/practice/people/").content.decode()

    row = page.split(f'id="person-{staff.pk}"')[1].split("</tr>")[0]
    assert "Two-step login" in row


def test_patients_and_other_practices_are_not_concerned(
    login: Any, doctor: User, patient: User, other_doctor: User
) -> None:
    turn_on_app(doctor)
    _require(login, doctor)

    assert Client().get("/").status_code == 302
    patient_client = Client()
    patient_client.force_login(patient, backend="securemail.accounts.backends.EmailBackend")
    assert patient_client.get("/").status_code == 200
    other = Client()
    other.force_login(other_doctor, backend="securemail.accounts.backends.EmailBackend")
    assert other.get("/").status_code == 200


def test_while_required_it_can_not_be_turned_off(login: Any, doctor: User, staff: User) -> None:
    turn_on_app(doctor)
    _require(login, doctor)
    turn_on_app(staff)
    client = login(staff)

    off = client.post("/accounts/security/off/")
    remove = client.post("/accounts/security/app/remove/")

    assert off.status_code == 400
    assert "required" in off.content.decode()
    assert remove.status_code == 400
    assert staff.two_step.method == "app"


def test_the_requirement_can_be_lifted(login: Any, doctor: User, staff: User) -> None:
    turn_on_app(doctor)
    _require(login, doctor)

    response = login(doctor).post("/practice/people/two-step/", {})

    assert response.status_code == 302
    assert not Practice.objects.get(pk=doctor.practice_id).require_two_step
    staff_client = Client()
    staff_client.force_login(staff, backend="securemail.accounts.backends.EmailBackend")
    assert staff_client.get("/").status_code == 200
