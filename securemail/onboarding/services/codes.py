"""Verification codes: sending one (by text, voice call or email) and checking a typed one.

Called by the verify step's views, for the invitation the session is bound to. Side
effects: PhoneVerification rows (only the code's keyed hash), the code in the outbox,
audit entries, and the verify step marked done in the invitation's progress. Both raise
with the message to show: OnboardingError when no code could be sent, CodeRefused when a
code did not verify.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from securemail.audit import services as audit
from securemail.audit.events import Event
from securemail.core import ratelimit, tokens
from securemail.core.limits import limits
from securemail.core.phones import code_phone_refusal, masked_phone
from securemail.onboarding.emails import queue_code
from securemail.onboarding.errors import (
    CodeChecksLimited,
    CodeRefused,
    OnboardingError,
    TooManyRequests,
)
from securemail.onboarding.models import (
    Invitation,
    PhoneVerification,
    Step,
    VerifiedPhone,
    WizardState,
)


@dataclass
class CodeSent:
    shown_destination: str


def send_code(*, invitation: Invitation, channel: str) -> CodeSent:
    """Send a new 6-digit code (invalidating any earlier one) by text, voice call or email.

    Rate limited per invitation and per destination. A number that can't receive codes (no
    person's phone, or a country the operator has not allowed: core.phones) gets none.
    Raises OnboardingError with a message the person can act on.
    """
    state = WizardState.load(invitation)
    if channel == PhoneVerification.Channel.EMAIL:
        destination, shown = invitation.invitee.email, invitation.invitee.email
    elif channel in {PhoneVerification.Channel.SMS, PhoneVerification.Channel.VOICE}:
        if not state.phone:
            raise OnboardingError("Enter your phone number first.")
        if channel == PhoneVerification.Channel.SMS and state.is_landline:
            raise OnboardingError("A landline can't receive text messages: choose a voice call.")
        # Asked again here, whatever the form let through (or let through before).
        refusal = code_phone_refusal(state.phone)
        if refusal:
            raise OnboardingError(f"{refusal} Change your number, or get the code by email.")
        destination, shown = state.phone, masked_phone(state.phone)
    else:
        raise OnboardingError("Choose how to receive your code.")
    try:
        ratelimit.spend("code_send_invitation", str(invitation.pk))
        ratelimit.spend("code_send_number", destination)
    except ratelimit.RateLimited:
        raise TooManyRequests(
            "Too many codes were sent. Wait an hour, or use another way to get your code."
        ) from None
    code = tokens.new_code()
    now = timezone.now()
    with transaction.atomic():
        PhoneVerification.objects.filter(
            invitation=invitation, verified_at__isnull=True, invalidated_at__isnull=True
        ).update(invalidated_at=now)
        verification = PhoneVerification.objects.create(
            invitation=invitation,
            channel=channel,
            destination=destination,
            code_hash="",
            created_at=now,
            expires_at=now + timedelta(minutes=limits().code_minutes),
        )
        verification.code_hash = tokens.hash_code(code, salt=str(verification.pk))
        verification.save(update_fields=["code_hash"])
        audit.record(
            Event.CODE_SENT,
            actor_id=invitation.invitee_id,
            practice_id=invitation.invited_by.practice_id,
            target=f"invitation:{invitation.pk}",
            data={"channel": channel},
        )
        queue_code(invitation=invitation, channel=channel, destination=destination, code=code)
    return CodeSent(shown_destination=shown)


def check_code(*, invitation: Invitation, code: str) -> None:
    """Check a typed code against the one waiting. Returns once the phone (or, for an
    emailed code, the address) is verified and the verify step done; raises CodeRefused
    with the message to show otherwise. A wrong code spends one of the code's tries."""
    try:
        ratelimit.spend("code_check", str(invitation.pk))
    except ratelimit.RateLimited:
        raise CodeChecksLimited(
            "Too many tries. Wait a few minutes, then send a new code."
        ) from None
    code = "".join(code.split())
    if len(code) != 6 or not code.isdigit():
        raise CodeRefused("Enter the 6 digits of the code we sent.")
    state = WizardState.load(invitation)
    with transaction.atomic():
        verification = (
            PhoneVerification.objects.select_for_update()
            .filter(invitation=invitation, verified_at__isnull=True, invalidated_at__isnull=True)
            .order_by("-created_at")
            .first()
        )
        if verification is None:
            raise CodeRefused("There is no code waiting. Send a new code.")
        if verification.channel != PhoneVerification.Channel.EMAIL and (
            verification.destination != state.phone
        ):
            # The number was changed after this code was sent: it can't verify the new one.
            raise CodeRefused("That code was sent to your previous number. Send a new code.")
        now = timezone.now()
        if verification.expires_at <= now:
            raise CodeRefused("This code has expired. Send a new code.")
        if verification.attempts >= limits().code_max_tries:
            raise CodeRefused("Too many wrong tries for this code. Send a new code.")
        matches = tokens.code_matches(
            code, salt=str(verification.pk), expected_hash=verification.code_hash
        )
        if matches:
            verification.verified_at = now
            verification.save(update_fields=["verified_at"])
            state.verified = VerifiedPhone(channel=verification.channel, phone=state.phone or "")
            state.mark_done(Step.VERIFY)
            state.save(invitation)
            audit.record(
                Event.CODE_VERIFIED,
                actor_id=invitation.invitee_id,
                practice_id=invitation.invited_by.practice_id,
                target=f"invitation:{invitation.pk}",
            )
        else:
            verification.attempts += 1
            verification.save(update_fields=["attempts"])
            audit.record(
                Event.CODE_REJECTED,
                actor_id=invitation.invitee_id,
                practice_id=invitation.invited_by.practice_id,
                target=f"invitation:{invitation.pk}",
            )
    if not matches:
        # Raised after the block: raised inside it, the counted try would be rolled back.
        left = limits().code_max_tries - verification.attempts
        if left <= 0:
            raise CodeRefused(
                "That code is not right, and it has had too many tries. Send a new code."
            )
        raise CodeRefused(f"That code is not right. {left} {'try' if left == 1 else 'tries'} left.")
