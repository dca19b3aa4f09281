"""/practice/people/: the practice's user manager sees its doctors and staff in every state,
and the people it invited to other practices or as patients until they register; nobody
else sees the page, and no other practice's people are on it."""

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from securemail.accounts.models import Practice, User
from securemail.onboarding.tests.helpers import finish_wizard
from securemail.practices.tests.helpers import (
    PEOPLE,
    invitee,
    listed_ids,
    lock,
    row,
    started_invitee,
    text,
)

pytestmark = pytest.mark.django_db


def test_the_manager_sees_the_practices_doctors_and_staff_with_their_state(
    login: Any, doctor: User, staff: User, free_staff: User
) -> None:
    lock(free_staff)
    User.objects.filter(pk=staff.pk).update(phone_verified_at=None)

    page = login(doctor).get(PEOPLE)

    assert page.status_code == 200
    assert "Users of Bright Smiles Dental" in text(page)
    assert listed_ids(page) == {doctor.pk, staff.pk, free_staff.pk}
    mine = row(page, doctor)
    assert "Jane Roe jane.roe@brightsmiles.test Doctor User manager Active" in mine
    assert "Phone verified Paid" in mine
    assert "Make user manager" not in mine
    sam = row(page, staff)
    assert "Sam Front sam.front@brightsmiles.test Staff Active Paid" in sam
    assert "Phone verified" not in sam
    assert "Make user manager" in sam
    assert "Unlock account" not in sam
    fran = row(page, free_staff)
    assert "Active Locked Phone verified Free" in fran
    assert "Unlock account" in fran
    # Locked: no hand-over until unlocked.
    assert "Make user manager" not in fran


def test_invitees_of_the_practice_show_how_far_they_got(login: Any, doctor: User) -> None:
    invited, _ = invitee(doctor, "new.staff@brightsmiles.test", "staff_my_practice")
    started, _ = started_invitee(doctor, "new.doctor@brightsmiles.test", "doctor_my_practice")
    registered, browser = started_invitee(
        doctor, "reg.staff@brightsmiles.test", "staff_my_practice"
    )
    finish_wizard(browser)

    page = login(doctor).get(PEOPLE)

    invited_row = row(page, invited)
    assert "new.staff@brightsmiles.test Staff Invited Free" in invited_row
    assert "Re-send invitation" in invited_row
    assert "Correct email address" in invited_row
    assert "Make user manager" not in invited_row
    started_row = row(page, started)
    assert "Doctor Registration started Free" in started_row
    assert "Re-send invitation" in started_row
    registered_row = row(page, registered)
    assert "Alex Newman reg.staff@brightsmiles.test" in registered_row
    assert "Registered (password not set yet) Phone verified Free" in registered_row
    assert "Re-send set-password link" in registered_row
    assert "Correct email address" not in registered_row
    assert "Make user manager" not in registered_row


def test_invitees_of_other_practices_and_patients_are_listed_until_they_register(
    login: Any, doctor: User, staff: User
) -> None:
    colleague, _ = invitee(doctor, "dr.else@lakeview.test", "doctor_other_practice")
    patient, _ = invitee(staff, "pat.new@mail.test", "patient")
    registered, browser = started_invitee(doctor, "done.else@lakeview.test", "staff_other_practice")
    finish_wizard(browser)
    client = login(doctor)

    page = client.get(PEOPLE)

    assert {colleague.pk, patient.pk} <= listed_ids(page)
    assert "dr.else@lakeview.test Doctor in another practice Invited Free" in row(page, colleague)
    assert "Re-send invitation Correct email address" in row(page, colleague)
    assert "pat.new@mail.test Patient Invited Free" in row(page, patient)
    # Registered into a practice of their own: no longer this practice's to manage.
    assert registered.pk not in listed_ids(page)

    _, patient_browser = started_invitee(staff, "pat.two@mail.test", "patient")
    finish_wizard(patient_browser)
    two = User.objects.get(email="pat.two@mail.test")
    assert two.status == User.Status.REGISTERED
    assert two.pk not in listed_ids(client.get(PEOPLE))


def test_no_other_practices_people_are_listed(
    login: Any, doctor: User, other_doctor: User, patient: User, outsider: User
) -> None:
    theirs, _ = invitee(other_doctor, "their.staff@lakeside.test", "staff_my_practice")
    their_patient, _ = invitee(other_doctor, "their.patient@mail.test", "patient")

    page = login(doctor).get(PEOPLE)

    assert listed_ids(page) == {doctor.pk}
    for someone in (other_doctor, theirs, their_patient, patient, outsider):
        assert someone.email not in text(page)
    assert "Nobody is waiting to register." in text(page)


def test_the_other_practices_manager_sees_only_their_own(
    login: Any, doctor: User, staff: User, other_doctor: User
) -> None:
    theirs, _ = invitee(other_doctor, "their.patient@mail.test", "patient")

    page = login(other_doctor).get(PEOPLE)

    assert listed_ids(page) == {other_doctor.pk, theirs.pk}
    assert "Users of Lakeside Oral Surgery" in text(page)


def test_the_page_shows_the_phone_verification_setting_and_links_to_it(
    login: Any, doctor: User, practice: Practice
) -> None:
    client = login(doctor)
    on = text(client.get(PEOPLE))
    Practice.objects.filter(pk=practice.pk).update(require_phone_verification=False)
    page = client.get(PEOPLE)
    off = text(page)

    assert "People your practice invites verify their phone with a code" in on
    assert "People your practice invites don't verify their phone" in off
    assert 'href="/practice/settings/"' in page.content.decode()


def test_the_page_costs_the_same_queries_for_many_people(login: Any, doctor: User) -> None:
    client = login(doctor)
    invitee(doctor, "one@brightsmiles.test", "staff_my_practice")
    invitee(doctor, "two@mail.test", "patient")
    with CaptureQueriesContext(connection) as few:
        assert client.get(PEOPLE).status_code == 200
    for n in range(6):
        invitee(doctor, f"more{n}@brightsmiles.test", "doctor_my_practice")
        invitee(doctor, f"pat{n}@mail.test", "patient")
        invitee(doctor, f"else{n}@lakeview.test", "staff_other_practice")
    with CaptureQueriesContext(connection) as many:
        page = client.get(PEOPLE)

    assert len(listed_ids(page)) == 21
    assert len(many) == len(few)


def test_the_top_bar_links_the_page_for_the_manager_only(
    login: Any, client: Client, doctor: User, staff: User
) -> None:
    assert 'href="/practice/people/">Practice users<' in login(doctor).get("/").content.decode()
    client.logout()
    assert "Practice users" not in login(staff).get("/").content.decode()


@pytest.mark.parametrize("persona", ["staff", "free_staff", "patient", "outsider"])
def test_anyone_but_the_manager_is_refused(persona: str, request: Any, login: Any) -> None:
    page = login(request.getfixturevalue(persona)).get(PEOPLE)

    assert page.status_code == 403
    assert "For the practice's user manager" in text(page)
    assert "Only your practice's user manager" in text(page)


def test_anonymous_visitors_are_sent_to_log_in(doctor: User) -> None:
    page = Client().get(PEOPLE)

    assert page.status_code == 302
    assert page["Location"] == f"/accounts/login/?next={PEOPLE}"


def test_the_page_only_shows(login: Any, doctor: User) -> None:
    assert login(doctor).post(PEOPLE).status_code == 405
