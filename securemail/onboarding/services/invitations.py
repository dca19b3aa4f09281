"""Invitations: the invite itself, starting the registration, and fresh links.

`invite` is called by messaging while it sends a message (inside that transaction); the
next three by onboarding's views for the link's holder; `renew_link` and
`restart_invitation` by the services that re-send a link (the fresh links here, the
practice's user manager in practices.services); `resend_as_operator` by the operators'
console. Side effects: the invited account, the invitation (its link's hash, and the link
sealed for the reminders: onboarding.links), audit entries and the welcome email in the
outbox.
"""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from securemail.accounts import services as account_services
from securemail.accounts.access import is_operator
from securemail.accounts.models import User, normalize_email
from securemail.audit import services as audit
from securemail.audit.events import Event
from securemail.core import ratelimit, tokens
from securemail.core.limits import limits
from securemail.onboarding.access import invited_address_for_link
from securemail.onboarding.emails import queue_welcome_email
from securemail.onboarding.errors import InvitationClosed, TooManyRequests
from securemail.onboarding.links import SEALED_FIELDS, seal_link
from securemail.onboarding.models import DOCTOR_ROLES, IN_MY_PRACTICE, Invitation, RecipientRole


def _kind_for_role(role: RecipientRole) -> str:
    if role in DOCTOR_ROLES:
        return User.Kind.DOCTOR
    if role == RecipientRole.PATIENT:
        return User.Kind.PATIENT
    return User.Kind.STAFF


def invite(*, inviter: User, email: str, role: RecipientRole) -> Invitation:
    """Create a free, invited account for a new address and queue its role's welcome email.

    Called by messaging while it sends a message, inside that transaction. The caller has
    already checked that `inviter` is a paid member of a practice and that `email` is new.
    """
    role = RecipientRole(role)
    assert inviter.practice is not None
    invitee = User.objects.create_user(
        email,
        kind=_kind_for_role(role),
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
    seal_link(invitation, token)
    invitation.save(update_fields=SEALED_FIELDS)
    audit.record(
        Event.INVITATION_CREATED,
        actor_id=inviter.pk,
        practice_id=inviter.practice_id,
        target=f"user:{invitee.pk}",
        data={"role": role.value},
    )
    queue_welcome_email(invitation, token, again=False)
    return invitation


def record_link_shown(*, invitation: Invitation) -> None:
    """The link's page was shown (a GET: the person, or a mail scanner following links):
    the first time is the timeline's "opened the link". Nothing else; not audited."""
    if invitation.link_shown_at is None:
        Invitation.objects.filter(pk=invitation.pk, link_shown_at__isnull=True).update(
            link_shown_at=timezone.now()
        )


def start_registration(*, invitation: Invitation) -> None:
    """The invitee pressed "Start" on the link's page (a POST: mail scanners only GET).
    Marks the invitation opened (audited, once) and the account started."""
    with transaction.atomic():
        if invitation.opened_at is None:
            invitation.opened_at = timezone.now()
            invitation.save(update_fields=["opened_at"])
            audit.record(
                Event.INVITATION_OPENED,
                actor_id=invitation.invitee_id,
                practice_id=invitation.invited_by.practice_id,
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
    """The limits on fresh registration links: per client address (generous: an office
    shares one) and per address asked for (strict: nobody floods an inbox)."""
    try:
        ratelimit.spend("fresh_link", f"ip:{client_ip}")
        if email:
            ratelimit.spend("fresh_link_account", f"email:{normalize_email(email)}")
    except ratelimit.RateLimited:
        raise TooManyRequests("Too many requests. Wait an hour and try again.") from None


def spend_join_link(*, client_ip: str) -> None:
    """Opening a registration link or pressing its Start, per client address:
    TooManyRequests for someone trying tokens by the thousand."""
    try:
        ratelimit.spend("join_link", f"ip:{client_ip}")
    except ratelimit.RateLimited:
        raise TooManyRequests(
            "Too many links were opened from your network in a short time. Wait a few "
            "minutes, then open your link again."
        ) from None


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
        token = renew_link(invitation)
        audit.record(
            Event.INVITATION_FRESH_LINK,
            actor_id=None,
            practice_id=invitation.invited_by.practice_id,
            target=f"invitation:{invitation.pk}",
        )
        queue_welcome_email(invitation, token, again=True)


def renew_link(invitation: Invitation) -> str:
    """Give `invitation` a fresh link: a new token, sent now and good for the invitation's
    days again; the old link stops working (only the new one's hash is kept, and the new
    link sealed for the reminders). The wizard's progress stays: the same person carries
    on. Returns the token for the welcome email.

    Uncharged and unaudited: for services that hold the transaction and the invitation's
    row lock, spent their own limit, and audit and queue the email themselves (the fresh
    links above; the practice's user manager re-sending one, in practices.services).
    """
    token, token_hash = tokens.new_link_token()
    now = timezone.now()
    invitation.token_hash = token_hash
    invitation.link_sent_at = now
    invitation.expires_at = now + timedelta(days=limits().invitation_days)
    seal_link(invitation, token)
    invitation.save(update_fields=["token_hash", "link_sent_at", "expires_at", *SEALED_FIELDS])
    return token


def restart_invitation(invitation: Invitation) -> tuple[Invitation, str]:
    """Start `invitation` over: a new row with a new link and none of the old one's
    progress, and the account back to *invited*. The old row goes with its codes, so the
    old link and a wizard begun from it (bound to the old row) end at "no longer valid".
    For an address that was wrong: whoever opened the old link is not the invitee, and
    what they typed (a name, a phone) must not reach the real one. Returns the new
    invitation and its token for the welcome email.

    Unaudited, like renew_link: the caller (the practice's user manager correcting an
    address, in practices.services) holds the transaction and the invitee's row lock,
    audits and queues the email.
    """
    fresh = Invitation(
        invitee_id=invitation.invitee_id,
        invited_by_id=invitation.invited_by_id,
        role=invitation.role,
        created_at=invitation.created_at,
        # The reminders carry on where they were (none again for a day already reminded),
        # and stay stopped if the sender stopped them.
        reminded_day=invitation.reminded_day,
        reminders_stopped_at=invitation.reminders_stopped_at,
    )
    # First the old row: one open invitation per invitee.
    invitation.delete()
    token, fresh.token_hash = tokens.new_link_token()
    fresh.link_sent_at = timezone.now()
    fresh.expires_at = fresh.link_sent_at + timedelta(days=limits().invitation_days)
    fresh.save()
    seal_link(fresh, token)
    fresh.save(update_fields=SEALED_FIELDS)
    User.objects.filter(pk=fresh.invitee_id).update(status=User.Status.INVITED)
    return fresh, token


def resend_as_operator(*, operator: User, invitation_id: int) -> str:
    """An operator re-sends an invitation (the console's Re-send): whatever the invitee
    needs next. A fresh registration link while the registration is open (the old link
    stops working), or a fresh set-password link once the wizard is done but no password
    is set. Returns which was sent ("registration_link" or "set_password_link"); audited.

    NotAnOperator for anyone but an operator; InvitationClosed when there is nothing to
    re-send (the invitee has set a password). Not rate limited: operators are few and every
    re-send is in the audit log."""
    if not is_operator(operator):
        raise account_services.NotAnOperator("Only an operator can do this.")
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update(of=("self",))
            .select_related("invited_by__practice", "invitee")
            .get(pk=invitation_id)
        )
        invitee = invitation.invitee
        if invitation.used_at is None and invitee.status in {
            User.Status.INVITED,
            User.Status.STARTED,
        }:
            sent = "registration_link"
        elif invitee.status == User.Status.REGISTERED and invitee.is_active:
            sent = "set_password_link"
        else:
            raise InvitationClosed(
                f"{invitee.email} has finished registering and set a password: there is no "
                "invitation to re-send. They can use “Forgot your password?” on the login page."
            )
        audit.record(
            Event.OPERATOR_RESENT_INVITATION,
            actor_id=operator.pk,
            practice_id=invitation.invited_by.practice_id,
            target=f"invitation:{invitation.pk}",
            data={"sent": sent},
        )
        if sent == "registration_link":
            queue_welcome_email(invitation, renew_link(invitation), again=True)
        else:
            account_services.send_set_password_email(user=invitee, first_time=True)
    return sent
