"""What the practice's user manager does to its people, from the user manager's page; and
what whoever sent an invitation may do to it (re-send it, correct its address: the
`*_as_inviter` services, from the notice that its email did not arrive; stop its
reminders, from the delivery slip).

Each service is called by practices' views for the logged-in manager (or inviter). Each
authorizes through practices.access (NotPracticeManager for anyone but the manager; Http404
for a person out of the practice's reach, or not the inviter's open invitee, as for
nobody), checks what may be done to that person against the rows as they are now (locked),
writes, audits (ids only: never an address) and queues its email. Links cost the sender's
`manager_link` rate limit, not the anonymous fresh-link one.
"""

from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from securemail.accounts.models import Practice, User, normalize_email
from securemail.accounts.services import send_set_password_email
from securemail.audit import services as audit
from securemail.audit.events import Event
from securemail.core import ratelimit
from securemail.onboarding.emails import queue_welcome_email
from securemail.onboarding.models import Invitation
from securemail.onboarding.services import renew_link, restart_invitation, stop_reminders
from securemail.practices.access import (
    MANAGER_CANDIDATES,
    NotPracticeManager,
    Person,
    is_manager,
    managed_practice,
    person_for_inviter,
    person_for_manager,
)

# Reads one person for the acting user (Http404 when out of their reach); `for_update`
# locks the person's row.
PersonLookup = Callable[..., Person]


class PeopleError(Exception):
    """Something the manager can act on; `str(error)` says what (the page answers 400)."""


class TooManyRequests(PeopleError):
    """The manager's limit on links refused it (the page answers 429)."""


def resend_invitation(*, manager: User, user_id: int) -> Person:
    """Send someone the practice invited a fresh link: the invitation again, on the
    inviter's behalf, for anyone who hasn't finished registering (the old link stops
    working; what they already entered stays); the set-password link again for a member
    who finished the wizard but never set a password. Returns the person as they were.
    """
    practice = managed_practice(manager)
    _spend_link_limit(manager)
    with transaction.atomic():
        person = _locked(manager, user_id)
        return _resend(
            person, actor=manager, practice_id=practice.pk, event=Event.INVITATION_RESENT
        )


def resend_invitation_as_inviter(*, inviter: User, user_id: int) -> Person:
    """The sender of an open invitation sends it again (a fresh link, on their own behalf;
    the old link stops working; what was entered stays): for the invitee whose email did
    not arrive. Http404 for anyone but the inviter's open invitee. Returns the person."""
    _spend_link_limit(inviter)
    with transaction.atomic():
        person = _locked(inviter, user_id, lookup=person_for_inviter)
        return _resend(
            person,
            actor=inviter,
            practice_id=inviter.practice_id,
            event=Event.INVITATION_RESENT_BY_INVITER,
        )


def _resend(person: Person, *, actor: User, practice_id: int | None, event: Event) -> Person:
    if not person.may_resend:
        raise PeopleError(
            f"{person.user.display_name} has no invitation waiting: there is nothing to send again."
        )
    # An invitee's open invitation; None for a member who only has a password to set.
    invitation = person.invitation if person.is_invitee else None
    token = renew_link(invitation) if invitation is not None else ""
    audit.record(
        event,
        actor_id=actor.pk,
        practice_id=practice_id,
        target=f"user:{person.user.pk}",
        data={"link": "registration" if invitation is not None else "set_password"},
    )
    if invitation is not None:
        queue_welcome_email(invitation, token, again=True)
    else:
        send_set_password_email(user=person.user, first_time=True)
    return person


def correct_invitee_email(*, manager: User, user_id: int, email: str) -> Person:
    """Send an invitation to the right address instead of a mistyped one, while the
    invitee hasn't registered: the account takes the new address, the old link (and a
    registration begun from it) stops working, and the new address alone gets a new link.
    Refuses a malformed address and one that already has an account (PeopleError).
    Returns the person with the new address."""
    practice = managed_practice(manager)
    address = _valid_address(email)
    _spend_link_limit(manager)
    with transaction.atomic():
        person = _locked(manager, user_id)
        return _correct(
            person,
            address,
            actor=manager,
            practice_id=practice.pk,
            event=Event.INVITEE_EMAIL_CORRECTED,
        )


def correct_invitee_email_as_inviter(*, inviter: User, user_id: int, email: str) -> Person:
    """correct_invitee_email, by whoever sent the open invitation (its email bounced, or
    the address was mistyped): Http404 for anyone but the inviter's open invitee."""
    address = _valid_address(email)
    _spend_link_limit(inviter)
    with transaction.atomic():
        person = _locked(inviter, user_id, lookup=person_for_inviter)
        return _correct(
            person,
            address,
            actor=inviter,
            practice_id=inviter.practice_id,
            event=Event.INVITEE_EMAIL_CORRECTED_BY_INVITER,
        )


def stop_reminders_as_inviter(*, inviter: User, user_id: int) -> Person:
    """The sender of an open invitation stops its reminders (one click on the delivery
    slip): Http404 for anyone but the inviter's open invitee. Idempotent; audited once
    (onboarding.services.stop_reminders). Returns the person."""
    with transaction.atomic():
        person = _locked(inviter, user_id, lookup=person_for_inviter)
        if person.invitation is None:
            raise PeopleError(f"{person.user.display_name} has no invitation waiting.")
        stop_reminders(invitation=person.invitation, actor=inviter)
        return person


def _valid_address(email: str) -> str:
    address = normalize_email(email)
    try:
        validate_email(address)
    except ValidationError:
        raise PeopleError("Enter a valid email address.") from None
    return address


def _correct(
    person: Person, address: str, *, actor: User, practice_id: int | None, event: Event
) -> Person:
    if not person.may_correct_email or person.invitation is None:
        raise PeopleError(
            f"{person.user.display_name} has already registered: their address is now "
            "their login, which only they can change."
        )
    if address == person.user.email:
        raise PeopleError("That is already the address the invitation goes to.")
    taken = PeopleError("That address already has a SecureMail account: write to it from Compose.")
    if User.objects.filter(email=address).exists():
        raise taken
    try:
        with transaction.atomic():
            User.objects.filter(pk=person.user.pk).update(email=address)
    except IntegrityError:
        # Someone registered it a moment ago.
        raise taken from None
    invitation, token = restart_invitation(person.invitation)
    invitee = User.objects.get(pk=person.user.pk)
    invitation.invitee = invitee
    audit.record(
        event,
        actor_id=actor.pk,
        practice_id=practice_id,
        target=f"user:{invitee.pk}",
        data={"invitation": invitation.pk},
    )
    queue_welcome_email(invitation, token, again=False)
    return Person(user=invitee, invitation=invitation, is_member=person.is_member)


def unlock_account(*, manager: User, user_id: int) -> Person:
    """Unlock a member's account locked by wrong passwords: the lock and the count of
    wrong passwords are cleared, and the password they had works again."""
    practice = managed_practice(manager)
    with transaction.atomic():
        person = person_for_manager(manager, user_id, for_update=True)
        if not person.may_unlock:
            raise PeopleError(f"{person.user.display_name}'s account is not locked.")
        User.objects.filter(pk=person.user.pk).update(locked_at=None, failed_logins=0)
        audit.record(
            Event.USER_UNLOCKED,
            actor_id=manager.pk,
            practice_id=practice.pk,
            target=f"user:{person.user.pk}",
        )
    return person


def hand_over_manager_role(*, manager: User, user_id: int) -> User:
    """Make an active doctor or staff member of the practice its user manager; `manager`
    loses the role. Hand-overs of one practice run one at a time (its row is locked), and
    the giver is checked again under the lock, so two racing hand-overs have one winner
    (the other gets NotPracticeManager) and the practice has exactly one manager after.
    Returns the new manager."""
    practice = managed_practice(manager)
    with transaction.atomic():
        Practice.objects.select_for_update().filter(pk=practice.pk).first()
        giver = User.objects.select_for_update().get(pk=manager.pk)
        if not is_manager(giver) or giver.practice_id != practice.pk:
            raise NotPracticeManager("Only the practice's user manager can do this.")
        person = person_for_manager(giver, user_id, for_update=True)
        if person.user.pk == giver.pk:
            raise PeopleError("You are already the practice's user manager.")
        if not person.may_become_manager:
            raise PeopleError(MANAGER_CANDIDATES)
        User.objects.filter(pk=giver.pk).update(is_practice_manager=False)
        User.objects.filter(pk=person.user.pk).update(is_practice_manager=True)
        audit.record(
            Event.MANAGER_HANDED_OVER,
            actor_id=giver.pk,
            practice_id=practice.pk,
            target=f"user:{person.user.pk}",
        )
    manager.is_practice_manager = False
    person.user.is_practice_manager = True
    return person.user


def _locked(actor: User, user_id: int, *, lookup: PersonLookup = person_for_manager) -> Person:
    """The person read again under locks, in the order every writer of an invitee takes
    them (the open invitation, then the account: as finishing the registration does), so
    what the actor saw is checked against what is true now: Http404 if out of reach."""
    person = lookup(actor, user_id)
    if person.invitation is not None:
        list(
            Invitation.objects.select_for_update()
            .filter(pk=person.invitation.pk)
            .values_list("pk", flat=True)
        )
    return lookup(actor, user_id, for_update=True)


def _spend_link_limit(manager: User) -> None:
    try:
        ratelimit.spend("manager_link", f"user:{manager.pk}")
    except ratelimit.RateLimited:
        raise TooManyRequests(
            "You have sent many links in a short time. Wait an hour and try again."
        ) from None
