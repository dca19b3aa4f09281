"""The user manager buys or cancels a plan for one of the practice's people, within the
practice's billing account (SPEC §5). The manager's rule is checked here; billing does the
rest (billing.services.purchases), so a plan bought by the manager is one like any other."""

from securemail.accounts.models import User
from securemail.billing import services as billing
from securemail.billing.access import active_plan
from securemail.practices.access import person_for_manager
from securemail.practices.services.people import PeopleError


def buy_plan_for(*, manager: User, user_id: int, plan_code: str) -> billing.PurchaseStarted:
    """Start buying `plan_code` for a member of the manager's practice: returns the card
    page to go to. NotPracticeManager, Http404 for someone out of reach, PeopleError for
    someone who can't have a plan (a patient, an invitee not registered yet); billing's
    errors otherwise (AlreadyPaid, TooManyPurchases, ProcessorUnavailable)."""
    person = person_for_manager(manager, user_id)
    if not person.may_have_plan:
        raise PeopleError(
            "A plan can be bought for a registered doctor or staff member of the practice "
            "without one."
        )
    return billing.start_purchase_for_member(
        manager=manager, member=person.user, plan_code=plan_code
    )


def cancel_plan_for(*, manager: User, user_id: int) -> None:
    """End a member's plan at the end of its paid period, whoever bought it."""
    person = person_for_manager(manager, user_id)
    plan = active_plan(person.user)
    if plan is None or not person.is_member:
        raise PeopleError("There is no plan in force to cancel.")
    billing.cancel_for_member(manager=manager, subscription=plan)
