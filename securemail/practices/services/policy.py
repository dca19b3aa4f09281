"""The practice's settings, decided by its user manager (authorized through
practices.access, written and audited in one transaction)."""

from django.db import transaction

from securemail.accounts.access import second_step_needed
from securemail.accounts.models import Practice, User
from securemail.audit import services as audit
from securemail.audit.events import Event
from securemail.practices.access import managed_practice
from securemail.practices.services.people import PeopleError


def set_phone_verification_policy(*, manager: User, required: bool) -> None:
    """The practice's user manager decides whether the people it invites must verify a
    phone (pending invitees follow the change). NotPracticeManager for anyone else."""
    practice = managed_practice(manager)
    with transaction.atomic():
        Practice.objects.filter(pk=practice.pk).update(require_phone_verification=required)
        practice.require_phone_verification = required
        audit.record(
            Event.PHONE_VERIFICATION_POLICY,
            actor_id=manager.pk,
            practice_id=practice.pk,
            data={"required": required},
        )


def set_two_step_policy(*, manager: User, required: bool) -> None:
    """The practice's user manager decides whether its doctors and staff must use two-step
    login: those without it are asked to set it up at their next page (or login) and reach
    nothing else until they have (accounts.security.middleware). PeopleError when the
    manager turns it on without having it themselves; NotPracticeManager for anyone else."""
    practice = managed_practice(manager)
    if required and not second_step_needed(manager):
        raise PeopleError(
            "Turn on two-step login for yourself first (Security), then require it for "
            "the practice."
        )
    with transaction.atomic():
        Practice.objects.filter(pk=practice.pk).update(require_two_step=required)
        practice.require_two_step = required
        audit.record(
            Event.TWO_STEP_POLICY,
            actor_id=manager.pk,
            practice_id=practice.pk,
            data={"required": required},
        )
