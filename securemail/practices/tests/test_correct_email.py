"""Correcting an invitee's email address from the user manager's page: only while they
haven't registered; the new address alone gets a link, the old link (and a registration
begun from it) stops working; a malformed address or one that has an account is refused
with a clear message. The audit entry names ids, never an address."""

from typing import Any

import pytest
from django.db.models import QuerySet
from django.test import Client

from securemail.accounts.models import User
from securemail.notifications.models import OutboxEmail
from securemail.onboarding.models import Invitation, PhoneVerification
from securemail.onboarding.tests.helpers import (
    INVALID_LINK_TEXT,
    MAILBOX,
    compose,
    finish_wizard,
    post_you,
    send_code,
    start,
)
from securemail.practices import services
from securemail.practices.tests.helpers import (
    PEOPLE,
    action_url,
    entries,
    invitee,
    no_address_in,
    open_invitation,
    row,
    started_invitee,
    text,
)

pytestmark = pytest.mark.django_db

WRONG = "pat.smiht@mail.test"
RIGHT = "pat.smith2@mail.test"
CORRECTED = "practices:invitee:correct_email"


def _correct(client: Client, user: User, email: str) -> Any:
    return client.post(action_url(user, "email"), {"email": email})


def test_the_form_shows_where_the_invitation_went(login: Any, doctor: User) -> None:
    user, _ = invitee(doctor, WRONG, "patient")

    page = login(doctor).get(action_url(user, "email"))

    assert page.status_code == 200
    assert f"The invitation went to {WRONG}." in text(page)
    assert 'name="email"' in page.content.decode()


def test_the_corrected_address_gets_the_link_and_the_old_one_nothing(
    login: Any, doctor: User
) -> None:
    user, old_link = invitee(doctor, WRONG, "patient")
    before = len(MAILBOX.to(WRONG))
    client = login(doctor)

    response = _correct(client, user, "  Pat.Smith2@Mail.TEST ")

    assert response.status_code == 302
    assert response["Location"] == PEOPLE
    page = client.get(PEOPLE)
    assert f"The invitation now goes to {RIGHT}, with a new link" in text(page)
    assert f"{RIGHT} Patient Invited" in row(page, user)
    user.refresh_from_db()
    assert user.email == RIGHT
    assert user.status == User.Status.INVITED
    assert len(MAILBOX.to(WRONG)) == before
    [welcome] = MAILBOX.to(RIGHT)
    assert "Dr. Jane Roe of Bright Smiles Dental has sent you a secure message" in welcome.text
    assert "fresh registration link" not in welcome.text
    new_link = MAILBOX.link(RIGHT, "/join/")
    landing = Client().get(new_link)
    assert landing.status_code == 200
    assert RIGHT in text(landing)
    stale = Client().get(old_link)
    assert stale.status_code == 404
    assert INVALID_LINK_TEXT in text(stale)
    assert OutboxEmail.objects.filter(to_email=RIGHT, kind="welcome").count() == 1
    [entry] = entries(CORRECTED)
    invitation = open_invitation(user)
    assert entry.actor_id == doctor.pk
    assert entry.practice_id == doctor.practice_id
    assert entry.target == f"user:{user.pk}"
    assert entry.data == {"invitation": invitation.pk}
    assert no_address_in(entry, WRONG, RIGHT)


def test_a_registration_begun_at_the_wrong_address_ends_and_leaves_nothing_behind(
    login: Any, doctor: User
) -> None:
    # Whoever got the mistyped address started registering, and asked for a code.
    user, wrong_person = started_invitee(doctor, WRONG, "patient")
    post_you(wrong_person, full_name="Not Pat")
    send_code(wrong_person)
    old = open_invitation(user)

    _correct(login(doctor), user, RIGHT)

    ended = wrong_person.get("/register/")
    assert ended.status_code == 404
    assert INVALID_LINK_TEXT in text(ended)
    assert not Invitation.objects.filter(pk=old.pk).exists()
    assert not PhoneVerification.objects.filter(invitation_id=old.pk).exists()
    fresh = open_invitation(user)
    assert fresh.wizard_data == {}
    assert fresh.opened_at is None
    assert fresh.created_at == old.created_at
    assert fresh.invited_by_id == doctor.pk
    # The right person registers from the start, with their own answers.
    right_person = start(MAILBOX.link(RIGHT, "/join/"))
    assert right_person.get("/register/")["Location"] == "/register/you/"
    finish_wizard(right_person)
    user.refresh_from_db()
    assert user.status == User.Status.REGISTERED
    assert user.full_name == "Alex Newman"
    assert MAILBOX.link(RIGHT, "/accounts/password/")


def test_the_message_waiting_follows_the_address_and_no_email_carries_phi(
    login: Any, doctor: User
) -> None:
    client = login(doctor)
    subject, body = "Biopsy results for lesion 22", "The margins are clear; no further surgery."
    compose(client, to=WRONG, subject=subject, body=body, role="patient")
    user = User.objects.get(email=WRONG)

    _correct(client, user, RIGHT)

    [welcome] = MAILBOX.to(RIGHT)
    for secret in (subject, body, "Biopsy", "lesion"):
        assert secret not in welcome.everything
    assert entries(CORRECTED)[0].data.keys() == {"invitation"}
    assert User.objects.get(email=RIGHT).pk == user.pk


def test_another_practice_invitee_can_be_corrected(login: Any, doctor: User) -> None:
    user, old_link = invitee(doctor, "dr.elsewere@lakeview.test", "doctor_other_practice")

    response = _correct(login(doctor), user, "dr.elsewhere@lakeview.test")

    assert response.status_code == 302
    assert Client().get(MAILBOX.link("dr.elsewhere@lakeview.test", "/join/")).status_code == 200
    assert Client().get(old_link).status_code == 404


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("pat.smith", "Enter a valid email address."),
        ("pat@", "Enter a valid email address."),
        ("pat smith@mail.test", "Enter a valid email address."),
        ("", "Enter the address the invitation should go to."),
    ],
)
def test_a_malformed_address_is_refused_with_a_message(
    typed: str, message: str, login: Any, doctor: User
) -> None:
    user, old_link = invitee(doctor, WRONG, "patient")

    response = _correct(login(doctor), user, typed)

    assert response.status_code == 400
    assert message in text(response)
    user.refresh_from_db()
    assert user.email == WRONG
    assert Client().get(old_link).status_code == 200
    assert entries(CORRECTED) == []


def test_an_address_that_has_an_account_is_refused(
    login: Any, doctor: User, staff: User, other_doctor: User
) -> None:
    user, old_link = invitee(doctor, WRONG, "patient")
    invitee(other_doctor, "waiting@mail.test", "patient")
    client = login(doctor)

    for taken in (
        staff.email,
        "SAM.FRONT@brightsmiles.test",
        other_doctor.email,
        "waiting@mail.test",
    ):
        response = _correct(client, user, taken)
        assert response.status_code == 400
        assert "That address already has a SecureMail account" in text(response)

    user.refresh_from_db()
    assert user.email == WRONG
    assert Client().get(old_link).status_code == 200
    assert MAILBOX.to(staff.email) == []
    assert len(MAILBOX.to("waiting@mail.test")) == 1
    assert entries(CORRECTED) == []


def test_the_same_address_again_is_refused(login: Any, doctor: User) -> None:
    user, _ = invitee(doctor, WRONG, "patient")

    response = _correct(login(doctor), user, WRONG.upper())

    assert response.status_code == 400
    assert "That is already the address the invitation goes to." in text(response)


def test_after_registering_the_address_is_theirs(login: Any, doctor: User) -> None:
    user, browser = started_invitee(doctor, "reg.staff@brightsmiles.test", "staff_my_practice")
    finish_wizard(browser)
    client = login(doctor)

    page = client.get(action_url(user, "email"))
    response = _correct(client, user, RIGHT)

    assert page.status_code == 200
    assert "has already registered: their address is now their login" in text(page)
    assert 'name="email"' not in page.content.decode()
    assert response.status_code == 400
    assert "has already registered" in text(response)
    user.refresh_from_db()
    assert user.email == "reg.staff@brightsmiles.test"
    assert MAILBOX.to(RIGHT) == []


def test_an_active_members_address_cannot_be_changed_here(
    login: Any, doctor: User, staff: User
) -> None:
    response = _correct(login(doctor), staff, RIGHT)

    assert response.status_code == 400
    staff.refresh_from_db()
    assert staff.email == "sam.front@brightsmiles.test"


def test_another_practices_invitee_is_not_found(
    login: Any, doctor: User, other_doctor: User
) -> None:
    theirs, old_link = invitee(other_doctor, WRONG, "patient")
    client = login(doctor)

    assert client.get(action_url(theirs, "email")).status_code == 404
    assert _correct(client, theirs, RIGHT).status_code == 404
    assert client.get(f"{PEOPLE}999999/email/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.email == WRONG
    assert Client().get(old_link).status_code == 200


@pytest.mark.parametrize("persona", ["staff", "free_staff", "patient"])
def test_anyone_but_the_manager_is_refused(
    persona: str, request: Any, login: Any, doctor: User
) -> None:
    user, _ = invitee(doctor, WRONG, "patient")
    client = login(request.getfixturevalue(persona))

    assert client.get(action_url(user, "email")).status_code == 403
    assert _correct(client, user, RIGHT).status_code == 403
    user.refresh_from_db()
    assert user.email == WRONG


def test_anonymous_visitors_are_sent_to_log_in(doctor: User) -> None:
    user, _ = invitee(doctor, WRONG, "patient")

    response = _correct(Client(), user, RIGHT)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    user.refresh_from_db()
    assert user.email == WRONG


def test_corrections_count_towards_the_managers_limit(
    login: Any, doctor: User, settings: Any
) -> None:
    settings.SECUREMAIL_RATE_LIMITS = {**settings.SECUREMAIL_RATE_LIMITS, "manager_link": "1/h"}
    user, _ = invitee(doctor, WRONG, "patient")
    client = login(doctor)
    assert _correct(client, user, RIGHT).status_code == 302

    refused = _correct(client, user, "pat.third@mail.test")

    assert refused.status_code == 429
    assert "Wait an hour and try again." in text(refused)
    user.refresh_from_db()
    assert user.email == RIGHT


def test_the_service_itself_refuses_a_malformed_address(doctor: User) -> None:
    user, _ = invitee(doctor, WRONG, "patient")

    with pytest.raises(services.PeopleError, match="Enter a valid email address"):
        services.correct_invitee_email(manager=doctor, user_id=user.pk, email="pat@@mail")

    user.refresh_from_db()
    assert user.email == WRONG


def test_an_address_registered_a_moment_before_the_write_is_refused(
    doctor: User, staff: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    user, old_link = invitee(doctor, WRONG, "patient")
    # The check found the address free; the account appears before the write.
    monkeypatch.setattr(QuerySet, "exists", lambda _self: False)

    with pytest.raises(services.PeopleError, match="already has a SecureMail account"):
        services.correct_invitee_email(manager=doctor, user_id=user.pk, email=staff.email)

    monkeypatch.undo()
    user.refresh_from_db()
    assert user.email == WRONG
    assert Client().get(old_link).status_code == 200
    assert entries(CORRECTED) == []
