"""What onboarding sends: the role's welcome email (with its registration link), the
reminders of a waiting invitation and the verification code (by email, text message or
voice call). One function each; none carries a subject, a body or a file name of any
message."""

from datetime import datetime

from django.conf import settings
from django.utils import dateformat
from django.utils.timezone import localtime

from securemail.core.limits import limits
from securemail.notifications.models import NotificationKind
from securemail.notifications.services import queue_email, queue_text
from securemail.onboarding.models import REMINDER_DAYS, Invitation, PhoneVerification


def day_of(value: datetime, invitation: Invitation) -> str:
    """`value`'s day in the invitee's time zone ("May 6, 2031"), as every date in the
    emails they get (the `date` filter would show it in the server's, UTC)."""
    return dateformat.format(localtime(value, invitation.invitee.zone), "F j, Y")


def registration_link(token: str) -> str:
    return f"{settings.SECUREMAIL_BASE_URL}/join/{token}/"


def queue_welcome_email(invitation: Invitation, token: str, *, again: bool) -> None:
    """The welcome email for the invitation's role, on the inviter's behalf, with the
    single-use link (`again`: a fresh link replacing an older one). The invitation keeps a
    reference to it: the inviter's pages show how its delivery went."""
    inviter = invitation.invited_by
    invitation.welcome_email = queue_email(
        to=invitation.invitee.email,
        template=f"onboarding/emails/welcome_{invitation.role}",
        context={
            "inviter_name": inviter.display_name,
            "practice_name": inviter.practice.name if inviter.practice else "",
            "link": registration_link(token),
            "again": again,
            "expires_on": day_of(invitation.expires_at, invitation),
        },
        kind=NotificationKind.WELCOME_AGAIN if again else NotificationKind.WELCOME,
        recipient_user_id=invitation.invitee_id,
    )
    invitation.save(update_fields=["welcome_email"])


def queue_reminder_email(
    invitation: Invitation, token: str, *, day: int, fresh_link: bool, deleted_at: datetime
) -> None:
    """A reminder, `day` days after the invitation, to an invitee who hasn't registered:
    who invited them, the registration link (the same one, or a fresh one replacing it) and
    when what is waiting for them is deleted. What the welcome email says, and no more."""
    inviter = invitation.invited_by
    queue_email(
        to=invitation.invitee.email,
        template="onboarding/emails/reminder",
        context={
            "inviter_name": inviter.display_name,
            "practice_name": inviter.practice.name if inviter.practice else "",
            "invited_on": day_of(invitation.created_at, invitation),
            "link": registration_link(token),
            "fresh_link": fresh_link,
            "expires_on": day_of(invitation.expires_at, invitation),
            "deleted_on": day_of(deleted_at, invitation),
            "last": day == max(REMINDER_DAYS),
        },
        kind=NotificationKind.INVITATION_REMINDER,
        recipient_user_id=invitation.invitee_id,
    )


def queue_code(*, invitation: Invitation, channel: str, destination: str, code: str) -> None:
    """The verification code, by `channel`. Texts and calls are queued like emails: the
    provider is called after commit, by the worker, with retries, so "code sent" does not
    hang on (or fail with) the provider."""
    if channel == PhoneVerification.Channel.EMAIL:
        queue_email(
            to=destination,
            template="onboarding/emails/code",
            context={"code": code},
            kind=NotificationKind.VERIFICATION_CODE,
            recipient_user_id=invitation.invitee_id,
        )
        return
    if channel == PhoneVerification.Channel.SMS:
        text = (
            f"Your SecureMail verification code is {code}. "
            f"It expires in {limits().code_minutes} minutes."
        )
    else:
        # Spoken digit by digit.
        text = f"Your SecureMail verification code is {' '.join(code)}."
    queue_text(
        to=destination,
        channel=channel,
        text=text,
        kind=NotificationKind.VERIFICATION_CODE,
        recipient_user_id=invitation.invitee_id,
    )
