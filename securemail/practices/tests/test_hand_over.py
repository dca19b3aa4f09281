"""Handing the user manager's role to another doctor or staff member of the practice: only
to an active member, the giver loses it, and the practice has exactly one manager after,
even when two hand-overs race (on PostgreSQL and SQLite alike)."""

import threading
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from securemail.accounts.models import User
from securemail.onboarding.tests.helpers import finish_wizard
from securemail.practices import services
from securemail.practices.access import NotPracticeManager
from securemail.practices.tests.helpers import (
    PEOPLE,
    action_url,
    entries,
    invitee,
    lock,
    managers_of,
    started_invitee,
    text,
)

HANDED_OVER = "practices:manager:hand_over"
NOT_A_CANDIDATE = (
    "Only an active doctor or staff member of the practice (registered, password set, not "
    "locked) can become its user manager."
)


def _hand_over(client: Client, user: User) -> Any:
    return client.post(action_url(user, "manager"))


@pytest.mark.django_db
def test_the_manager_confirms_and_hands_the_role_to_a_staff_member(
    login: Any, client: Client, doctor: User, staff: User
) -> None:
    manager = login(doctor)
    confirm = manager.get(action_url(staff, "manager"))

    response = _hand_over(manager, staff)

    assert confirm.status_code == 200
    assert "Make Sam Front the user manager" in text(confirm)
    assert "you will no longer be able to" in text(confirm)
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert "Sam Front is now the practice's user manager." in text(manager.get("/"))
    assert managers_of(doctor.practice_id) == [staff.pk]
    [entry] = entries(HANDED_OVER)
    assert entry.actor_id == doctor.pk
    assert entry.practice_id == doctor.practice_id
    assert entry.target == f"user:{staff.pk}"
    # The giver has lost the page and the top bar's links; the new manager has them.
    assert manager.get(PEOPLE).status_code == 403
    assert "Practice users" not in text(manager.get("/"))
    client.logout()
    new_manager = login(staff)
    assert new_manager.get(PEOPLE).status_code == 200
    assert 'href="/practice/people/"' in new_manager.get("/").content.decode()


@pytest.mark.django_db
def test_a_free_doctor_of_the_practice_can_take_the_role(
    login: Any, make_user: Any, doctor: User, practice: Any
) -> None:
    free_doctor = make_user("dr.free@brightsmiles.test", kind="doctor", practice=practice)

    assert _hand_over(login(doctor), free_doctor).status_code == 302
    assert managers_of(practice.pk) == [free_doctor.pk]


@pytest.mark.django_db
def test_only_active_members_can_take_the_role(
    login: Any, make_user: Any, doctor: User, free_staff: User
) -> None:
    invited, _ = invitee(doctor, "new.staff@brightsmiles.test", "staff_my_practice")
    registered, browser = started_invitee(
        doctor, "reg.staff@brightsmiles.test", "staff_my_practice"
    )
    finish_wizard(browser)
    elsewhere, _ = invitee(doctor, "dr.else@lakeview.test", "doctor_other_practice")
    deactivated = make_user("gone@brightsmiles.test", practice=doctor.practice, is_active=False)
    lock(free_staff)
    client = login(doctor)

    for candidate in (invited, registered, free_staff, deactivated):
        confirm = client.get(action_url(candidate, "manager"))
        assert confirm.status_code == 200
        assert NOT_A_CANDIDATE in text(confirm)
        assert "Hand over the role" not in text(confirm)
        refused = _hand_over(client, candidate)
        assert refused.status_code == 400
        assert NOT_A_CANDIDATE in text(refused)
    assert _hand_over(client, elsewhere).status_code == 400
    assert managers_of(doctor.practice_id) == [doctor.pk]
    assert entries(HANDED_OVER) == []


@pytest.mark.django_db
def test_the_manager_cannot_hand_the_role_to_themselves(login: Any, doctor: User) -> None:
    response = _hand_over(login(doctor), doctor)

    assert response.status_code == 400
    assert "You are already the practice's user manager." in text(response)
    assert managers_of(doctor.practice_id) == [doctor.pk]


@pytest.mark.django_db
def test_another_practices_member_is_not_found(
    login: Any, doctor: User, other_doctor: User, make_user: Any, other_practice: Any
) -> None:
    theirs = make_user("their.staff@lakeside.test", practice=other_practice)
    client = login(doctor)

    for someone in (theirs, other_doctor):
        assert client.get(action_url(someone, "manager")).status_code == 404
        assert _hand_over(client, someone).status_code == 404
    assert client.post(f"{PEOPLE}999999/manager/").status_code == 404
    assert managers_of(doctor.practice_id) == [doctor.pk]
    assert managers_of(other_practice.pk) == [other_doctor.pk]


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["staff", "free_staff", "patient"])
def test_anyone_but_the_manager_is_refused(
    persona: str, request: Any, login: Any, doctor: User, staff: User, free_staff: User
) -> None:
    actor = request.getfixturevalue(persona)
    target = free_staff if actor.pk == staff.pk else staff
    client = login(actor)

    assert client.get(action_url(target, "manager")).status_code == 403
    refused = _hand_over(client, target)

    assert refused.status_code == 403
    assert "Only your practice's user manager" in text(refused)
    assert managers_of(doctor.practice_id) == [doctor.pk]


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_log_in(doctor: User, staff: User) -> None:
    response = _hand_over(Client(), staff)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert managers_of(doctor.practice_id) == [doctor.pk]


@pytest.mark.django_db
def test_a_double_submit_hands_over_once(login: Any, doctor: User, staff: User) -> None:
    client = login(doctor)

    first = _hand_over(client, staff)
    second = _hand_over(client, staff)

    assert first.status_code == 302
    assert second.status_code == 403
    assert managers_of(doctor.practice_id) == [staff.pk]
    assert len(entries(HANDED_OVER)) == 1


@pytest.mark.django_db(transaction=True)
def test_two_racing_hand_overs_leave_exactly_one_manager(
    doctor: User, staff: User, free_staff: User
) -> None:
    """Two tabs hand the role to two people at once, each request on its own connection:
    one wins, the other is refused, and the practice has one manager."""
    start = threading.Barrier(2)
    outcomes: dict[int, object] = {}

    def hand_to(target: User) -> None:
        try:
            # As each request loads it: the manager, before either hand-over commits.
            giver = User.objects.select_related("practice").get(pk=doctor.pk)
            start.wait(timeout=10)
            outcomes[target.pk] = services.hand_over_manager_role(manager=giver, user_id=target.pk)
        except Exception as error:
            outcomes[target.pk] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=hand_to, args=(t,)) for t in (staff, free_staff)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    winners = [pk for pk, outcome in outcomes.items() if isinstance(outcome, User)]
    losers = [outcome for outcome in outcomes.values() if not isinstance(outcome, User)]
    assert len(winners) == 1, outcomes
    assert len(losers) == 1, outcomes
    assert isinstance(losers[0], NotPracticeManager), outcomes
    assert managers_of(doctor.practice_id) == winners
    [entry] = entries(HANDED_OVER)
    assert entry.target == f"user:{winners[0]}"
