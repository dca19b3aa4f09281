"""The only writers of invitations, registration progress and verification codes.

Every function runs in one transaction and follows one order: check the link or state,
check rate limits, write, audit, queue notifications.
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from securemail.accounts import services as account_services
from securemail.accounts.emails import queue_set_password_email
from securemail.accounts.models import Practice, Procedure, Specialty, User, normalize_email
from securemail.audit import services as audit
from securemail.audit.events import Event
from securemail.core import ratelimit, tokens
from securemail.core.limits import limits
from securemail.core.phones import masked_phone
from securemail.onboarding.emails import queue_code, queue_welcome_email
from securemail.onboarding.models import (
    ANOTHER_PRACTICE,
    DOCTOR_ROLES,
    IN_MY_PRACTICE,
    Invitation,
    PhoneVerification,
    RecipientRole,
)

STEP_PRACTICE = "practice"
STEP_YOU = "you"
STEP_SPECIALTY = "specialty"
STEP_VERIFY = "verify"
STEP_TERMS = "terms"


class OnboardingError(Exception):
    """A problem the person can fix; `str(error)` is the message to show them."""


class LinkInvalid(OnboardingError):
    pass


class AlreadyRegistered(OnboardingError):
    pass


class TooManyRequests(OnboardingError):
    """A rate limit refused it (the page answers 429)."""


def kind_for_role(role: RecipientRole) -> str:
    if role in DOCTOR_ROLES:
        return User.Kind.DOCTOR
    if role == RecipientRole.PATIENT:
        return User.Kind.PATIENT
    return User.Kind.STAFF


def steps_for(invitation: Invitation) -> list[str]:
    """The wizard's steps for this invitation's role (SPEC §3's table)."""
    role = invitation.role_enum
    steps = []
    if role in ANOTHER_PRACTICE:
        steps.append(STEP_PRACTICE)
    steps.append(STEP_YOU)
    if role in DOCTOR_ROLES:
        steps.append(STEP_SPECIALTY)
    if invitation.require_phone_verification:
        steps.append(STEP_VERIFY)
    steps.append(STEP_TERMS)
    return steps


def next_step(invitation: Invitation) -> str:
    done = set(invitation.wizard_data.get("done", []))
    for step in steps_for(invitation):
        if step not in done:
            return step
    return STEP_TERMS


# --- invitations ----------------------------------------------------------------------


def invite(*, inviter: User, email: str, role: RecipientRole) -> Invitation:
    """Create a free, invited account for a new address and queue its role's welcome email.

    Called by messaging while it sends a message, inside that transaction. The caller has
    already checked that `inviter` is a paid member of a practice and that `email` is new.
    """
    role = RecipientRole(role)
    assert inviter.practice is not None
    invitee = User.objects.create_user(
        email,
        kind=kind_for_role(role),
        practice=inviter.practice if role in IN_MY_PRACTICE else None,
        invited_by=inviter,
        status=User.Status.INVITED,
    )
    token, token_hash = tokens.new_link_token()
    now = timezone.now()
    invitation = Invitation.objects.create(
        invitee=invitee,
        invited_by=inviter,
        role=role,
        token_hash=token_hash,
        created_at=now,
        link_sent_at=now,
        expires_at=now + timedelta(days=limits().invitation_days),
    )
    audit.record(
        Event.INVITATION_CREATED,
        actor_id=inviter.pk,
        practice_id=inviter.practice_id,
        target=f"user:{invitee.pk}",
        data={"role": role.value},
    )
    queue_welcome_email(invitation, token, again=False)
    return invitation


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
    """The invitation a wizard session is bound to, re-checked on every step."""
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


def start_registration(*, invitation: Invitation) -> None:
    """The invitee pressed "Start" on the link's page (a POST: mail scanners only GET)."""
    with transaction.atomic():
        if invitation.opened_at is None:
            invitation.opened_at = timezone.now()
            invitation.save(update_fields=["opened_at"])
            audit.record(
                Event.INVITATION_OPENED,
                actor_id=invitation.invitee_id,
                target=f"invitation:{invitation.pk}",
            )
        if invitation.invitee.status == User.Status.INVITED:
            User.objects.filter(pk=invitation.invitee_id).update(status=User.Status.STARTED)


def request_fresh_link(*, email: str, client_ip: str) -> None:
    """Someone types the address they were invited at and asks for a fresh link. Rate
    limited per client address and per address (TooManyRequests); says nothing about
    whether the address exists."""
    _spend_fresh_link(client_ip=client_ip, email=email)
    _send_fresh_link(email=email)


def request_fresh_link_for(*, token: str, client_ip: str) -> None:
    """The "no longer valid" page's button: a fresh link to the address an old link was
    sent to, never shown. Rate limited like request_fresh_link; nothing is sent for a link
    we never sent."""
    email = invited_address_for_link(token)
    _spend_fresh_link(client_ip=client_ip, email=email)
    if email is not None:
        _send_fresh_link(email=email)


def _spend_fresh_link(*, client_ip: str, email: str | None) -> None:
    keys = [f"ip:{client_ip}"] + ([f"email:{normalize_email(email)}"] if email else [])
    try:
        ratelimit.spend("fresh_link", *keys)
    except ratelimit.RateLimited:
        raise TooManyRequests("Too many requests. Wait an hour and try again.") from None


def _send_fresh_link(*, email: str) -> None:
    """Send a fresh registration link (or a set-password link, if the wizard is done) to
    an invited address. Says nothing about whether the address exists."""
    user = User.objects.filter(email=normalize_email(email)).first()
    if user is None:
        return
    if user.status == User.Status.REGISTERED:
        account_services.send_password_link(email=user.email)
        return
    if user.status not in {User.Status.INVITED, User.Status.STARTED}:
        return
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update(of=("self",))
            .select_related("invited_by__practice", "invitee")
            .filter(invitee=user, used_at__isnull=True)
            .first()
        )
        if invitation is None:
            return
        token, token_hash = tokens.new_link_token()
        now = timezone.now()
        invitation.token_hash = token_hash
        invitation.link_sent_at = now
        invitation.expires_at = now + timedelta(days=limits().invitation_days)
        invitation.save(update_fields=["token_hash", "link_sent_at", "expires_at"])
        audit.record(
            Event.INVITATION_FRESH_LINK,
            actor_id=None,
            target=f"invitation:{invitation.pk}",
        )
        queue_welcome_email(invitation, token, again=True)


# --- wizard steps -----------------------------------------------------------------------


def _mark_done(invitation: Invitation, step: str, **data: Any) -> None:
    wizard = dict(invitation.wizard_data)
    wizard.update(data)
    done = [s for s in wizard.get("done", []) if s != step] + [step]
    wizard["done"] = done
    invitation.wizard_data = wizard
    invitation.save(update_fields=["wizard_data"])


def save_practice_step(*, invitation: Invitation, practice: dict[str, str]) -> None:
    with transaction.atomic():
        _mark_done(invitation, STEP_PRACTICE, practice=practice)


def save_you_step(*, invitation: Invitation, full_name: str, phone: str, phone_type: str) -> None:
    """Save the person's details; a changed phone must be verified again."""
    with transaction.atomic():
        verified = invitation.wizard_data.get("verified")
        if verified and verified.get("channel") != "email" and verified.get("phone") != phone:
            wizard = dict(invitation.wizard_data)
            wizard.pop("verified", None)
            wizard["done"] = [s for s in wizard.get("done", []) if s != STEP_VERIFY]
            invitation.wizard_data = wizard
        _mark_done(invitation, STEP_YOU, full_name=full_name, phone=phone, phone_type=phone_type)


def save_specialty_step(
    *, invitation: Invitation, specialty: Specialty, procedures: list[Procedure], npi: str
) -> None:
    with transaction.atomic():
        _mark_done(
            invitation,
            STEP_SPECIALTY,
            specialty=specialty.slug,
            procedures=sorted(p.slug for p in procedures),
            npi=npi,
        )


# --- verification codes -------------------------------------------------------------------


@dataclass
class CodeSent:
    channel: str
    shown_destination: str


def send_code(*, invitation: Invitation, channel: str) -> CodeSent:
    """Send a new 6-digit code (invalidating any earlier one) by text, voice call or email.

    Rate limited per invitation and per destination. Raises OnboardingError with a message
    the person can act on.
    """
    phone = invitation.wizard_data.get("phone", "")
    phone_type = invitation.wizard_data.get("phone_type", User.PhoneType.CELL)
    if channel == PhoneVerification.Channel.EMAIL:
        destination, shown = invitation.invitee.email, invitation.invitee.email
    elif channel in {PhoneVerification.Channel.SMS, PhoneVerification.Channel.VOICE}:
        if not phone:
            raise OnboardingError("Enter your phone number first.")
        if channel == PhoneVerification.Channel.SMS and phone_type == User.PhoneType.LANDLINE:
            raise OnboardingError("A landline can't receive text messages: choose a voice call.")
        destination, shown = phone, masked_phone(phone)
    else:
        raise OnboardingError("Choose how to receive your code.")
    try:
        ratelimit.spend("code_send_invitation", str(invitation.pk))
        ratelimit.spend("code_send_number", destination)
    except ratelimit.RateLimited:
        raise OnboardingError(
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
            target=f"invitation:{invitation.pk}",
            data={"channel": channel},
        )
        queue_code(invitation=invitation, channel=channel, destination=destination, code=code)
    return CodeSent(channel=channel, shown_destination=shown)


def check_code(*, invitation: Invitation, code: str) -> str | None:
    """Check a typed code. Returns None when verified, else the message to show."""
    try:
        ratelimit.spend("code_check", str(invitation.pk))
    except ratelimit.RateLimited:
        return "Too many tries. Wait a few minutes, then send a new code."
    code = "".join(code.split())
    if len(code) != 6 or not code.isdigit():
        return "Enter the 6 digits of the code we sent."
    with transaction.atomic():
        verification = (
            PhoneVerification.objects.select_for_update()
            .filter(invitation=invitation, verified_at__isnull=True, invalidated_at__isnull=True)
            .order_by("-created_at")
            .first()
        )
        if verification is None:
            return "There is no code waiting. Send a new code."
        if verification.channel != PhoneVerification.Channel.EMAIL and (
            verification.destination != invitation.wizard_data.get("phone")
        ):
            # The number was changed after this code was sent: it can't verify the new one.
            return "That code was sent to your previous number. Send a new code."
        now = timezone.now()
        if verification.expires_at <= now:
            return "This code has expired. Send a new code."
        if verification.attempts >= limits().code_max_tries:
            return "Too many wrong tries for this code. Send a new code."
        if not tokens.code_matches(
            code, salt=str(verification.pk), expected_hash=verification.code_hash
        ):
            verification.attempts += 1
            verification.save(update_fields=["attempts"])
            left = limits().code_max_tries - verification.attempts
            if left <= 0:
                return "That code is not right, and it has had too many tries. Send a new code."
            return f"That code is not right. {left} {'try' if left == 1 else 'tries'} left."
        verification.verified_at = now
        verification.save(update_fields=["verified_at"])
        verified = {"channel": verification.channel, "phone": invitation.wizard_data.get("phone")}
        _mark_done(invitation, STEP_VERIFY, verified=verified)
        audit.record(
            Event.CODE_VERIFIED,
            actor_id=invitation.invitee_id,
            target=f"invitation:{invitation.pk}",
        )
    return None


# --- finishing ------------------------------------------------------------------------------


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
        done = set(invitation.wizard_data.get("done", []))
        missing = [s for s in steps_for(invitation) if s != STEP_TERMS and s not in done]
        if missing:
            raise OnboardingError("Some steps are not finished yet.")
        data = invitation.wizard_data
        user = invitation.invitee
        role = invitation.role_enum
        if role in ANOTHER_PRACTICE:
            practice = Practice.objects.create(**data["practice"])
            user.practice = practice
            user.is_practice_manager = True
        user.full_name = data["full_name"]
        user.phone = data["phone"]
        user.phone_type = data.get("phone_type", User.PhoneType.CELL)
        if "verified" in data and data["verified"].get("channel") != "email":
            user.phone_verified_at = timezone.now()
        if role in DOCTOR_ROLES:
            user.specialty = Specialty.objects.get(slug=data["specialty"])
            user.npi = data.get("npi", "")
        user.status = User.Status.REGISTERED
        user.save()
        if role in DOCTOR_ROLES:
            user.procedures.set(Procedure.objects.filter(slug__in=data.get("procedures", [])))
        invitation.used_at = timezone.now()
        invitation.save(update_fields=["used_at"])
        audit.record(
            Event.REGISTRATION_COMPLETED,
            actor_id=user.pk,
            practice_id=user.practice_id,
            target=f"invitation:{invitation.pk}",
            data={"role": role.value},
        )
        queue_set_password_email(user=user, first_time=True)
    return user
