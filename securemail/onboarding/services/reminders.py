"""Reminders of a waiting invitation: sent on REMINDER_DAYS after it, and stopped by its
sender.

`send_due_reminders` is the worker's periodic job (through messaging, which knows what is
waiting for the invitee); `stop_reminders` is called by the practices service that checks
the caller sent the invitation. Side effects: InvitationReminder rows, the invitation's
claim (`reminded_day`) or stop, a fresh link when the old one no longer works, audit
entries and the reminder email in the outbox.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q, Subquery
from django.utils import timezone

from securemail.accounts.models import User
from securemail.audit import services as audit
from securemail.audit.events import Event
from securemail.onboarding.emails import queue_reminder_email
from securemail.onboarding.links import open_link
from securemail.onboarding.models import REMINDER_DAYS, Invitation, InvitationReminder
from securemail.onboarding.services.invitations import renew_link


def due_day(invited_at: datetime, now: datetime) -> int:
    """The latest of REMINDER_DAYS reached `now` for an invitation made at `invited_at`
    (0 before the first). Only that one is sent: a worker down on day 3 and back on day 16
    sends day 15's reminder, not two."""
    return max((day for day in REMINDER_DAYS if invited_at + timedelta(days=day) <= now), default=0)


def send_due_reminders(*, waiting_until: Subquery) -> int:
    """Send each invitee whose reminder is due one reminder, once, whatever the number of
    workers running this at the same time. Returns how many were queued.

    Due: a reminder day reached and not yet reminded, the invitation open (not registered),
    its reminders not stopped, and something still waiting for the invitee: `waiting_until`
    (given by messaging) is, for an invitation (OuterRef on its row), when the last message
    waiting for its invitee is deleted; None or past, nothing is sent. The reminder carries
    the same link while it works, else a fresh one (the old link then stops working, as for
    a re-send)."""
    now = timezone.now()
    reached = Q()
    for day in REMINDER_DAYS:
        reached |= Q(created_at__lte=now - timedelta(days=day), reminded_day__lt=day)
    due = (
        Invitation.objects.filter(
            reached,
            used_at__isnull=True,
            reminders_stopped_at__isnull=True,
            invitee__status__in=[User.Status.INVITED, User.Status.STARTED],
        )
        .annotate(waiting_until=waiting_until)
        .filter(waiting_until__gt=now)
    )
    sent = 0
    skip: list[int] = []
    while True:
        with transaction.atomic():
            invitation = (
                due.exclude(pk__in=skip)
                .select_for_update(skip_locked=True, of=("self",))
                .select_related("invitee", "invited_by__practice")
                .order_by("pk")
                .first()
            )
            if invitation is None:
                return sent
            day = due_day(invitation.created_at, now)
            # The claim: of any number of workers that got here, one changes the row.
            claimed = Invitation.objects.filter(pk=invitation.pk, reminded_day__lt=day).update(
                reminded_day=day
            )
            if not claimed:
                skip.append(invitation.pk)
                continue
            _remind(invitation, day=day, now=now)
            sent += 1


def _remind(invitation: Invitation, *, day: int, now: datetime) -> None:
    token = open_link(invitation) if invitation.expires_at > now else None
    fresh_link = token is None
    if token is None:
        token = renew_link(invitation)
    InvitationReminder.objects.create(
        invitation=invitation, day=day, sent_at=now, fresh_link=fresh_link
    )
    audit.record(
        Event.INVITATION_REMINDED,
        actor_id=None,
        practice_id=invitation.invited_by.practice_id,
        target=f"invitation:{invitation.pk}",
        data={"day": day, "link": "fresh" if fresh_link else "same"},
    )
    # When the last message waiting for the invitee is deleted (send_due_reminders).
    deleted_at: datetime = invitation.waiting_until  # type: ignore[attr-defined]
    queue_reminder_email(invitation, token, day=day, fresh_link=fresh_link, deleted_at=deleted_at)


def stop_reminders(*, invitation: Invitation, actor: User) -> bool:
    """Stop the invitation's reminders (its sender's one click). Idempotent: True the
    first time (audited), False when they were already stopped. The caller has checked
    that `actor` sent this open invitation (practices.services) and holds the transaction."""
    stopped = Invitation.objects.filter(pk=invitation.pk, reminders_stopped_at__isnull=True).update(
        reminders_stopped_at=timezone.now()
    )
    if stopped:
        audit.record(
            Event.INVITATION_REMINDERS_STOPPED,
            actor_id=actor.pk,
            practice_id=actor.practice_id,
            target=f"invitation:{invitation.pk}",
        )
    return bool(stopped)
