"""Finishing the registration: the terms step's POST.

Called by onboarding's terms view for the invitation the session is bound to. Side
effects: the new practice (another-practice roles), the filled-in account, the spent
invitation, an audit entry and the set-password email in the outbox.
"""

from dataclasses import asdict

from django.db import transaction
from django.utils import timezone

from securemail.accounts.models import Practice, Procedure, Specialty, User
from securemail.accounts.services import send_set_password_email
from securemail.audit import services as audit
from securemail.audit.events import Event
from securemail.onboarding.access import unfinished_steps
from securemail.onboarding.errors import AlreadyRegistered, LinkInvalid, OnboardingError
from securemail.onboarding.links import SEALED_FIELDS, forget_link
from securemail.onboarding.models import ANOTHER_PRACTICE, DOCTOR_ROLES, Invitation, WizardState


def complete_registration(*, invitation_id: int, accepted_terms: bool) -> User:
    """Finish the wizard: create the practice (another-practice roles, who manage it),
    fill in the account, spend the invitation and queue the set-password email.

    A second tab finishing the same registration gets AlreadyRegistered.
    """
    if not accepted_terms:
        raise OnboardingError("Accept the terms of use to finish.")
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update(of=("self",))
            .select_related("invitee", "invited_by__practice")
            .get(pk=invitation_id)
        )
        if invitation.used_at:
            raise AlreadyRegistered("Your registration is already complete.")
        if invitation.expires_at <= timezone.now():
            raise LinkInvalid("This link is no longer valid.")
        if unfinished_steps(invitation):
            raise OnboardingError("Some steps are not finished yet.")
        state = WizardState.load(invitation)
        user = invitation.invitee
        role = invitation.role_enum
        if role in ANOTHER_PRACTICE:
            assert state.practice is not None
            practice = Practice.objects.create(**asdict(state.practice))
            user.practice = practice
            user.is_practice_manager = True
        user.full_name = state.full_name or ""
        user.phone = state.phone or ""
        user.phone_type = state.phone_type or User.PhoneType.CELL
        if state.verified and state.verified.proves_phone:
            user.phone_verified_at = timezone.now()
        if role in DOCTOR_ROLES:
            user.specialty = Specialty.objects.get(slug=state.specialty)
            user.npi = state.npi or ""
        user.status = User.Status.REGISTERED
        user.save()
        if role in DOCTOR_ROLES:
            user.procedures.set(Procedure.objects.filter(slug__in=state.procedures or []))
        invitation.used_at = timezone.now()
        # The link is spent: no reminder will send it again.
        forget_link(invitation)
        invitation.save(update_fields=["used_at", *SEALED_FIELDS])
        audit.record(
            Event.REGISTRATION_COMPLETED,
            actor_id=user.pk,
            practice_id=user.practice_id,
            target=f"invitation:{invitation.pk}",
            data={"role": role.value},
        )
        send_set_password_email(user=user, first_time=True)
    return user
