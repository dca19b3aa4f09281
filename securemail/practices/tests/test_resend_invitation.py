"""Re-sending an invitation from the user manager's page: a fresh link on the inviter's
behalf (the old link stops working), for the practice's invitees and for those it invited
elsewhere; the set-password link again for a member who never set one. Audited, limited
per manager (not by the anonymous fresh-link limit)."""

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from securemail.accounts.models import User
from securemail.notifications.models import OutboxEmail
from securemail.onboarding.models import Invitation
from securemail.onboarding.tests.helpers import (
    INVALID_LINK_TEXT,
    MAILBOX,
    finish_wizard,
    post_you,
    start,
)
from securemail.practices.tests.helpers import (
    PEOPLE,
    action_url,
    entries,
    invitee,
    no_address_in,
    open_invitation,
    started_invitee,
    text,
)

pytestmark = pytest.mark.django_db

EMAIL = "new.staff@brightsmiles.test"
RESENT = "practices:invitation:resend"


def _resend(client: Client, user: User) -> Any:
    return client.post(action_url(user, "resend"))


def test_the_manager_resends_an_invitation_and_only_the_new_link_works(
    login: Any, doctor: User
) -> None:
    user, old_link = invitee(doctor, EMAIL, "staff_my_practice")
    client = login(doctor)

    response = _resend(client, user)

    assert response.status_code == 302
    assert response["Location"] == PEOPLE
    assert f"A fresh invitation link was sent to {EMAIL}; the old link no longer works." in text(
        client.get(PEOPLE)
    )
    _, again = MAILBOX.to(EMAIL)
    assert "Dr. Jane Roe of Bright Smiles Dental has sent you a secure message" in again.text
    assert "here is a fresh registration link" in again.text
    assert "/join/" in again.html
    new_link = MAILBOX.link(EMAIL, "/join/")
    assert new_link != old_link
    assert Client().get(new_link).status_code == 200
    stale = Client().get(old_link)
    assert stale.status_code == 404
    assert INVALID_LINK_TEXT in text(stale)
    assert OutboxEmail.objects.filter(to_email=EMAIL, kind="welcome_again").count() == 1
    [entry] = entries(RESENT)
    assert entry.actor_id == doctor.pk
    assert entry.practice_id == doctor.practice_id
    assert entry.target == f"user:{user.pk}"
    assert entry.data == {"link": "registration"}
    assert no_address_in(entry, EMAIL)


def test_a_started_registration_keeps_its_progress_with_the_fresh_link(
    login: Any, doctor: User
) -> None:
    user, browser = started_invitee(doctor, EMAIL, "staff_my_practice")
    post_you(browser)

    _resend(login(doctor), user)

    # The same person, on another device, carries on where they were.
    fresh = start(MAILBOX.link(EMAIL, "/join/"))
    assert fresh.get("/register/")["Location"] == "/register/verify/"
    finish_wizard(fresh)
    assert User.objects.get(pk=user.pk).status == User.Status.REGISTERED


def test_an_expired_invitation_gets_a_link_that_works_again(login: Any, doctor: User) -> None:
    user, _ = invitee(doctor, EMAIL, "patient")
    Invitation.objects.filter(invitee=user).update(expires_at=timezone.now() - timedelta(days=1))

    _resend(login(doctor), user)

    assert open_invitation(user).expires_at > timezone.now() + timedelta(days=29)
    assert Client().get(MAILBOX.link(EMAIL, "/join/")).status_code == 200


@pytest.mark.parametrize("role", ["doctor_other_practice", "staff_other_practice", "patient"])
def test_people_invited_elsewhere_can_be_reinvited(
    role: str, login: Any, doctor: User, staff: User
) -> None:
    # Invited by a colleague: still the practice's invitee.
    user, old_link = invitee(staff, "someone@elsewhere.test", role)

    response = _resend(login(doctor), user)

    assert response.status_code == 302
    again = MAILBOX.last_to("someone@elsewhere.test")
    assert "Sam Front of Bright Smiles Dental has sent you a secure message" in again.text
    assert Client().get(MAILBOX.link("someone@elsewhere.test", "/join/")).status_code == 200
    assert Client().get(old_link).status_code == 404
    assert entries(RESENT)[0].actor_id == doctor.pk


def test_a_member_who_never_set_a_password_gets_the_set_password_link_again(
    login: Any, doctor: User
) -> None:
    user, browser = started_invitee(doctor, EMAIL, "staff_my_practice")
    finish_wizard(browser)

    response = _resend(login(doctor), user)

    assert response.status_code == 302
    assert "A new link to set a password was sent to" in text(login(doctor).get(PEOPLE))
    assert OutboxEmail.objects.filter(to_email=EMAIL, kind="set_password").count() == 2
    assert "set your password" in MAILBOX.last_to(EMAIL).text.lower()
    # The link opens the set-password form (its token moves into the session).
    opened = Client().get(MAILBOX.link(EMAIL, "/accounts/password/"), follow=True)
    assert opened.status_code == 200
    assert "no longer valid" not in text(opened)
    assert 'name="new_password1"' in opened.content.decode()
    [entry] = entries(RESENT)
    assert entry.data == {"link": "set_password"}


def test_someone_already_active_has_nothing_to_resend(
    login: Any, doctor: User, staff: User
) -> None:
    response = _resend(login(doctor), staff)

    assert response.status_code == 400
    assert "Sam Front has no invitation waiting: there is nothing to send again." in text(response)
    assert "Users of Bright Smiles Dental" in text(response)
    assert MAILBOX.to(staff.email) == []
    assert entries(RESENT) == []


def test_the_anonymous_fresh_link_limit_does_not_apply_but_the_managers_own_does(
    login: Any, doctor: User, settings: Any
) -> None:
    user, _ = invitee(doctor, EMAIL, "staff_my_practice")
    client = login(doctor)
    # More than the fresh-link form allows an hour (5).
    for _ in range(6):
        assert _resend(client, user).status_code == 302
    settings.SECUREMAIL_RATE_LIMITS = {**settings.SECUREMAIL_RATE_LIMITS, "manager_link": "7/h"}

    assert _resend(client, user).status_code == 302
    refused = _resend(client, user)

    assert refused.status_code == 429
    assert "You have sent many links in a short time. Wait an hour and try again." in text(refused)
    assert len(MAILBOX.to(EMAIL)) == 1 + 7
    assert len(entries(RESENT)) == 7


def test_another_practices_invitee_is_not_found(
    login: Any, doctor: User, other_doctor: User
) -> None:
    theirs, _ = invitee(other_doctor, "their.patient@mail.test", "patient")
    their_staff, _ = invitee(other_doctor, "their.staff@lakeside.test", "staff_my_practice")
    client = login(doctor)

    for user in (theirs, their_staff, other_doctor):
        assert _resend(client, user).status_code == 404
    assert client.post(f"{PEOPLE}999999/resend/").status_code == 404
    assert len(MAILBOX.to("their.patient@mail.test")) == 1
    assert entries(RESENT) == []


def test_someone_the_practice_invited_elsewhere_who_registered_is_out_of_reach(
    login: Any, doctor: User
) -> None:
    user, browser = started_invitee(doctor, "dr.else@lakeview.test", "doctor_other_practice")
    finish_wizard(browser)

    assert _resend(login(doctor), user).status_code == 404


def test_a_patient_the_practice_never_invited_is_not_found(
    login: Any, doctor: User, outsider: User
) -> None:
    assert _resend(login(doctor), outsider).status_code == 404


@pytest.mark.parametrize("persona", ["staff", "free_staff", "patient", "other_doctor"])
def test_anyone_but_the_manager_is_refused_or_finds_nothing(
    persona: str, request: Any, login: Any, doctor: User
) -> None:
    user, _ = invitee(doctor, EMAIL, "staff_my_practice")

    response = _resend(login(request.getfixturevalue(persona)), user)

    # Another practice's manager may use the page, but not on our people.
    assert response.status_code == (404 if persona == "other_doctor" else 403)
    assert len(MAILBOX.to(EMAIL)) == 1
    assert entries(RESENT) == []


def test_anonymous_visitors_are_sent_to_log_in(doctor: User) -> None:
    user, _ = invitee(doctor, EMAIL, "staff_my_practice")

    response = _resend(Client(), user)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert len(MAILBOX.to(EMAIL)) == 1


def test_resending_is_a_post(login: Any, doctor: User) -> None:
    user, _ = invitee(doctor, EMAIL, "staff_my_practice")

    assert login(doctor).get(action_url(user, "resend")).status_code == 405
    assert len(MAILBOX.to(EMAIL)) == 1
