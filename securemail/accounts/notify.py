"""How a person hears of a new secure message: the one home of the rule. messaging.emails
asks it when it queues the notice, the profile form and accounts.services when the setting
is chosen.

Only new-message notices follow the profile's "notify me by" (`User.notify_by`). Invitations,
fresh registration links, set-password links, security notices, billing emails and the
warning before a conversation is deleted are not notices of a message: they always go by
email, whatever the setting.

- Someone still registering (invited, or registration started) always gets the email: it is
  their way in.
- A text needs a verified cell phone that texts may go to; without one, the person gets the
  email instead (the profile refuses a text option then, but a phone can change later).
- Texts (never emails) wait out the person's quiet hours, read as wall-clock times in their
  own time zone (so a DST change moves them with the clock, not with UTC).
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from securemail.accounts.models import User
from securemail.core.phones import code_phone_refusal

WANTS_EMAIL = frozenset({User.Notify.EMAIL, User.Notify.EMAIL_AND_SMS})
WANTS_TEXT = frozenset({User.Notify.SMS, User.Notify.EMAIL_AND_SMS})
STILL_REGISTERING = frozenset({User.Status.INVITED, User.Status.STARTED})

NO_CELL_PHONE = (
    "Text messages need a verified cell phone. Add and verify one under Security "
    "(“cell phone”), or choose Email only."
)


@dataclass(frozen=True)
class Channels:
    """How one new-message notice goes: by email, by text, both or neither."""

    email: bool
    text: bool

    @property
    def none(self) -> bool:
        return not (self.email or self.text)


def can_receive_texts(user: User) -> bool:
    """Whether texts may go to the person: a cell phone, verified, of a kind and country
    texts go to (core.phones, the rule codes follow)."""
    return (
        bool(user.phone)
        and user.phone_verified_at is not None
        and user.phone_type == User.PhoneType.CELL
        and code_phone_refusal(user.phone) is None
    )


def text_choice_refusal(user: User, notify_by: str) -> str | None:
    """Why `user` may not choose `notify_by` (a text option without a phone for texts), or
    None if they may."""
    if notify_by in WANTS_TEXT and not can_receive_texts(user):
        return NO_CELL_PHONE
    return None


def new_message_channels(user: User) -> Channels:
    """How `user` is told of a new message (see the module's rules)."""
    if user.status in STILL_REGISTERING:
        return Channels(email=True, text=False)
    wants_text = user.notify_by in WANTS_TEXT
    if wants_text and not can_receive_texts(user):
        # No phone for texts (any more): the email rather than nothing.
        return Channels(email=True, text=False)
    return Channels(email=user.notify_by in WANTS_EMAIL, text=wants_text)


def quiet_until(user: User, at: datetime) -> datetime | None:
    """When the quiet hours that `at` (aware) falls in end, in UTC; None when it is outside
    them or the person has none. A window may cross midnight (21:00 to 07:00)."""
    start, end = user.quiet_hours_start, user.quiet_hours_end
    if start is None or end is None or start == end:
        return None
    at = at.astimezone(UTC)
    local = at.astimezone(user.zone)
    clock = local.time()
    inside = start <= clock < end if start < end else (clock >= start or clock < end)
    if not inside:
        return None
    day = local.date() if clock < end else local.date() + timedelta(days=1)
    return _wall_clock(day, end, user, after=at)


def _wall_clock(day: date, end: time, user: User, *, after: datetime) -> datetime | None:
    """`end` on `day` in the person's zone, in UTC, the first such moment after `after`. A
    time the clocks skip (spring forward) is read with the offset before the change, which
    lands just after the gap; a time that comes twice (fall back) is the first one after
    `after`."""
    for fold in (0, 1):
        moment = datetime.combine(day, end, tzinfo=user.zone).replace(fold=fold).astimezone(UTC)
        if moment > after:
            return moment
    return None


def text_due_for(user_id: int, now: datetime) -> datetime:
    """text_due_at for the account `user_id` (the outbox asks before each try of a
    new-message text: notifications.services.schedule_texts); now if it is gone."""
    user = User.objects.filter(pk=user_id).first()
    return now if user is None else text_due_at(user, now)


def text_due_at(user: User, now: datetime) -> datetime:
    """When a text to `user` queued at `now` may go: now, or at the end of their quiet
    hours (the outbox row waits until then; it is never dropped)."""
    return quiet_until(user, now) or now
