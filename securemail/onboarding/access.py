"""The only way to read invitations and the wizard's progress: the invitation behind a
registration link, the one a wizard session is bound to, its steps and its waiting code.

Views call them to decide what to show, services to check the link or state before they
write. Nobody is logged in yet: holding the link (or the session its POST bound) is the
only claim, so unknown, altered, expired and used links all get the same LinkInvalid.
None of them writes anything.
"""

from django.utils import timezone

from securemail.core import tokens
from securemail.onboarding.errors import AlreadyRegistered, LinkInvalid
from securemail.onboarding.models import (
    ANOTHER_PRACTICE,
    DOCTOR_ROLES,
    Invitation,
    PhoneVerification,
    Step,
    WizardState,
)


def open_invitation(token: str) -> Invitation:
    """The invitation behind a registration link, if the link is still good.

    Unknown, altered, expired and used links all raise the same LinkInvalid.
    """
    invitation = (
        Invitation.objects.select_related("invitee", "invited_by__practice")
        .filter(token_hash=tokens.hash_link_token(token))
        .first()
    )
    if invitation is None or invitation.used_at or invitation.expires_at <= timezone.now():
        raise LinkInvalid("This link is no longer valid.")
    return invitation


def invited_address_for_link(token: str) -> str | None:
    """The address a registration link was sent to, even once the link is used or expired,
    so the "no longer valid" page can offer a fresh link there without showing it. None for
    a link we never sent (unknown, altered, or replaced by a fresher link)."""
    return (
        Invitation.objects.filter(token_hash=tokens.hash_link_token(token))
        .values_list("invitee__email", flat=True)
        .first()
    )


def invitation_in_progress(invitation_id: int) -> Invitation:
    """The invitation a wizard session is bound to, re-checked on every step: LinkInvalid
    once it expired, AlreadyRegistered once its wizard is finished."""
    invitation = (
        Invitation.objects.select_related("invitee", "invited_by__practice")
        .filter(pk=invitation_id)
        .first()
    )
    if invitation is None or invitation.expires_at <= timezone.now():
        raise LinkInvalid("This link is no longer valid.")
    if invitation.used_at:
        raise AlreadyRegistered("Your registration is already complete.")
    return invitation


def steps_for(invitation: Invitation) -> list[Step]:
    """The wizard's steps for this invitation's role (SPEC §3's table)."""
    role = invitation.role_enum
    steps = []
    if role in ANOTHER_PRACTICE:
        steps.append(Step.PRACTICE)
    steps.append(Step.YOU)
    if role in DOCTOR_ROLES:
        steps.append(Step.SPECIALTY)
    if invitation.require_phone_verification:
        steps.append(Step.VERIFY)
    steps.append(Step.TERMS)
    return steps


def next_step(invitation: Invitation) -> Step:
    """The first step of the invitation's wizard not done yet (the terms, at the end)."""
    state = WizardState.load(invitation)
    for step in steps_for(invitation):
        if not state.is_done(step):
            return step
    return Step.TERMS


def unfinished_steps(invitation: Invitation) -> list[Step]:
    """The steps still to answer before the terms can finish the registration."""
    state = WizardState.load(invitation)
    return [s for s in steps_for(invitation) if s != Step.TERMS and not state.is_done(s)]


def reachable_step(invitation: Invitation, step: Step) -> Step:
    """Where someone asking for `step` goes: `step` itself once every step before it is
    done (no skipping ahead); otherwise the first unfinished one before it; and for a step
    this role does not have, the next step."""
    steps = steps_for(invitation)
    if step not in steps:
        return next_step(invitation)
    state = WizardState.load(invitation)
    earlier = steps[: steps.index(step)]
    return next((s for s in earlier if not state.is_done(s)), step)


def waiting_code(invitation: Invitation) -> PhoneVerification | None:
    """The newest code sent for this invitation that is neither used nor replaced."""
    return invitation.codes.filter(invalidated_at__isnull=True, verified_at__isnull=True).first()
