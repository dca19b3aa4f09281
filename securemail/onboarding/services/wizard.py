"""Saving the wizard's steps: the practice, the person, the specialty.

Called by onboarding's step views, for the invitation the session is bound to (the views
have checked, through access.reachable_step, that the step may be answered now). Side
effect: the invitation's progress (WizardState), and nothing else until the terms.
"""

from django.db import transaction

from securemail.accounts.models import Procedure, Specialty
from securemail.audit import services as audit
from securemail.audit.events import Event
from securemail.onboarding.models import Invitation, PracticeDetails, Step, WizardState


def save_practice_step(*, invitation: Invitation, practice: PracticeDetails) -> None:
    """The new practice's details (another-practice roles); created when the wizard ends."""
    with transaction.atomic():
        state = WizardState.load(invitation)
        state.practice = practice
        state.mark_done(Step.PRACTICE)
        state.save(invitation)
        audit.record(
            Event.REGISTRATION_STEP_SAVED,
            actor_id=invitation.invitee_id,
            practice_id=invitation.invited_by.practice_id,
            target=f"invitation:{invitation.pk}",
            data={"step": Step.PRACTICE.value},
        )


def save_you_step(*, invitation: Invitation, full_name: str, phone: str, phone_type: str) -> None:
    """Save the person's details; a changed phone must be verified again."""
    with transaction.atomic():
        state = WizardState.load(invitation)
        if state.verified and state.verified.proves_phone and state.verified.phone != phone:
            state.forget_verification()
        state.full_name = full_name
        state.phone = phone
        state.phone_type = phone_type
        state.mark_done(Step.YOU)
        state.save(invitation)
        audit.record(
            Event.REGISTRATION_STEP_SAVED,
            actor_id=invitation.invitee_id,
            practice_id=invitation.invited_by.practice_id,
            target=f"invitation:{invitation.pk}",
            data={"step": Step.YOU.value},
        )


def save_specialty_step(
    *, invitation: Invitation, specialty: Specialty, procedures: list[Procedure], npi: str
) -> None:
    """A doctor's specialty, procedures and (optional) NPI."""
    with transaction.atomic():
        state = WizardState.load(invitation)
        state.specialty = specialty.slug
        state.procedures = sorted(p.slug for p in procedures)
        state.npi = npi
        state.mark_done(Step.SPECIALTY)
        state.save(invitation)
        audit.record(
            Event.REGISTRATION_STEP_SAVED,
            actor_id=invitation.invitee_id,
            practice_id=invitation.invited_by.practice_id,
            target=f"invitation:{invitation.pk}",
            data={"step": Step.SPECIALTY.value},
        )
