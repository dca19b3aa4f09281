"""The only way to read invitations and the wizard's progress: the invitation behind a
registration link, the one a wizard session is bound to, its steps and its waiting code;
and, for the pages of whoever may see an invitee's progress (the delivery slip, the
inviter's page), the onboarding timeline.

Views call them to decide what to show, services to check the link or state before they
write. Nobody is logged in yet: holding the link (or the session its POST bound) is the
only claim, so unknown, altered, expired and used links all get the same LinkInvalid.
None of them writes anything.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from securemail.core import tokens
from securemail.onboarding.errors import AlreadyRegistered, LinkInvalid
from securemail.onboarding.models import (
    ANOTHER_PRACTICE,
    DOCTOR_ROLES,
    REMINDER_DAYS,
    Invitation,
    InvitationReminder,
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


# --- the onboarding timeline ------------------------------------------------------------


@dataclass(frozen=True)
class Moment:
    """One line of an invitee's onboarding timeline: what happened, and when (None: not
    yet)."""

    label: str
    at: datetime | None


def with_progress(invitations: QuerySet[Invitation]) -> QuerySet[Invitation]:
    """Invitations with what their timeline needs from their codes (when the first was
    sent, when one verified), in the same query: subqueries, never a query per row."""
    codes = PhoneVerification.objects.filter(invitation=OuterRef("pk"))
    return invitations.annotate(
        first_code_at=Subquery(codes.order_by("created_at").values("created_at")[:1]),
        verified_at=Subquery(
            codes.filter(verified_at__isnull=False)
            .order_by("verified_at")
            .values("verified_at")[:1]
        ),
    )


def reminders_of(invitations: Iterable[Invitation]) -> dict[int, list[InvitationReminder]]:
    """The reminders sent for each invitation, oldest first: one query, and none when no
    invitation has had one."""
    reminded = [inv.pk for inv in invitations if inv.reminded_day]
    found: dict[int, list[InvitationReminder]] = {}
    if reminded:
        for reminder in InvitationReminder.objects.filter(invitation__in=reminded).order_by(
            "sent_at", "day"
        ):
            found.setdefault(reminder.invitation_id, []).append(reminder)
    return found


def reminders_pending(invitation: Invitation) -> bool:
    """Reminders may still go to this invitation's invitee: it is open, its sender hasn't
    stopped them and a reminder day is still ahead (whether a message still waits is the
    worker's to check). The slip shows "Stop reminders" to its sender only then."""
    return (
        invitation.used_at is None
        and invitation.reminders_stopped_at is None
        and invitation.reminded_day < max(REMINDER_DAYS)
    )


def timeline(
    invitation: Invitation,
    *,
    notified_at: datetime | None,
    reminders: list[InvitationReminder],
    first_read_at: datetime | None = None,
    show_first_read: bool = True,
) -> list[Moment]:
    """An invitee's onboarding, in order: what happened (oldest first), then the steps
    still to come ("not yet"). `invitation` comes through with_progress; `notified_at`
    is when its welcome email reached the mail server; `first_read_at` when the invitee
    first opened the message the page is about (the delivery slip's)."""
    steps = [
        Moment("Notified", notified_at),
        Moment("Opened the link", invitation.link_shown_at),
        Moment("Started", invitation.opened_at),
    ]
    first_code_at = getattr(invitation, "first_code_at", None)
    if first_code_at is not None or invitation.require_phone_verification:
        steps += [
            Moment("Code sent", first_code_at),
            Moment("Verified", getattr(invitation, "verified_at", None)),
        ]
    steps.append(Moment("Registered", invitation.used_at))
    if show_first_read:
        steps.append(Moment("First read", first_read_at))
    events = [
        Moment(
            f"Reminder sent day {r.day}" + (" (with a fresh link)" if r.fresh_link else ""),
            r.sent_at,
        )
        for r in reminders
    ]
    if invitation.reminders_stopped_at is not None:
        events.append(Moment("Reminders stopped", invitation.reminders_stopped_at))
    done = [(m.at, m) for m in steps + events if m.at is not None]
    # Stable: moments at the same time keep the steps' order.
    done.sort(key=lambda pair: pair[0])
    return [m for _, m in done] + [m for m in steps if m.at is None]
