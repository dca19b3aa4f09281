"""The user manager buys and cancels plans for the practice's people (SPEC §1, §5): within
the practice's billing account, with the manager's card; only for registered doctors and
staff of the practice; never for someone out of reach."""

from typing import Any

import pytest

from securemail.accounts.models import User
from securemail.billing.models import Subscription
from securemail.billing.tests.helpers import pay
from securemail.practices.tests.helpers import PEOPLE, action_url, invitee, row, text
from tests.support import path_of

pytestmark = pytest.mark.django_db


def _buy_for(client: Any, person: User, plan: str = "monthly") -> Any:
    return client.post(action_url(person, "plan/buy"), {"plan": plan})


def test_the_manager_buys_a_plan_for_a_free_member_with_their_own_card(
    login: Any, doctor: User, free_staff: User
) -> None:
    client = login(doctor)
    assert "Buy monthly" in row(client.get(PEOPLE), free_staff)

    started = _buy_for(client, free_staff, "annual")
    assert started.status_code == 302
    paid = pay(client, started["Location"])
    back = client.get(path_of(paid["Location"]))

    assert back.status_code == 302
    assert "Fran Free's paid plan is active" in text(client.get(back["Location"]))
    free_staff.refresh_from_db()
    assert free_staff.plan == User.Plan.PAID
    sub = Subscription.objects.get(member=free_staff)
    assert (sub.buyer, sub.plan, sub.account.practice) == (doctor, "annual", doctor.practice)
    listed = row(client.get(PEOPLE), free_staff)
    assert "Paid, annual" in listed
    assert "paid by Dr. Jane Roe" in listed
    assert "Cancel plan" in listed


def test_the_manager_cancels_a_plan_the_member_bought_themselves(
    login: Any, doctor: User, free_staff: User
) -> None:
    own = login(free_staff)
    started = own.post("/billing/buy/", {"plan": "monthly"})
    own.get(path_of(pay(own, started["Location"])["Location"]))

    response = login(doctor).post(action_url(free_staff, "plan/cancel"))

    assert response.status_code == 302
    sub = Subscription.objects.get(member=free_staff)
    assert sub.cancel_at_period_end
    assert sub.canceled_by == doctor


@pytest.mark.parametrize("persona", ["staff", "free_staff", "patient"])
def test_only_the_manager_may_buy_for_others(
    persona: str, request: Any, login: Any, doctor: User, free_staff: User
) -> None:
    client = login(request.getfixturevalue(persona))

    assert _buy_for(client, free_staff).status_code == 403
    assert not Subscription.objects.exists()


def test_another_practices_manager_gets_a_404(
    login: Any, other_doctor: User, free_staff: User
) -> None:
    assert _buy_for(login(other_doctor), free_staff).status_code == 404
    # A bad plan changes nothing: someone out of reach is still a 404, not "Choose a plan".
    assert _buy_for(login(other_doctor), free_staff, "forever").status_code == 404
    assert login(other_doctor).post(action_url(free_staff, "plan/cancel")).status_code == 404


def test_no_plan_for_invitees_not_registered_patients_or_the_already_paid(
    login: Any, doctor: User, staff: User
) -> None:
    new_staff, _ = invitee(doctor, "new.staff@brightsmiles.test", "staff_my_practice")
    new_patient, _ = invitee(doctor, "new.patient@mail.test", "patient")
    client = login(doctor)

    for person in (new_staff, new_patient, staff):
        refused = _buy_for(client, person)
        assert refused.status_code == 400, person
        assert "A plan can be bought for a registered doctor or staff member" in (
            refused.content.decode()
        )
        assert "Buy monthly" not in row(client.get(PEOPLE), person)
    assert not Subscription.objects.exists()


def test_a_bad_plan_and_nothing_to_cancel_are_clear_answers(
    login: Any, doctor: User, free_staff: User
) -> None:
    client = login(doctor)

    assert _buy_for(client, free_staff, "forever").status_code == 400
    nothing = client.post(action_url(free_staff, "plan/cancel"))
    assert nothing.status_code == 400
    assert "There is no plan in force to cancel." in nothing.content.decode()
