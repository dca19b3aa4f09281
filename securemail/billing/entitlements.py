"""The plan rule, in one place: what a paid account may do that a free one may not.

Every account starts free: it reads what it is sent and replies to it, attachments
included (SPEC §1). Starting a conversation, inviting someone new, forwarding and replying
to everyone need a paid plan, and only doctors and staff of a practice can have one
(patients are always free). The services that do these things call `require`; views call
`allows` only to decide whether to show a control.
"""

from enum import StrEnum

from django.core.exceptions import PermissionDenied

from securemail.accounts.models import User


class Feature(StrEnum):
    # Compose to any address (and look addresses up while composing), drafts included.
    START_CONVERSATION = "start_conversation"
    # Give a new address an account, with its role's welcome email.
    INVITE = "invite"
    FORWARD = "forward"
    REPLY_ALL = "reply_all"


class PlanRequired(PermissionDenied):
    """The account's plan doesn't include `feature` (a 403 that says who can change it)."""

    def __init__(self, feature: Feature) -> None:
        super().__init__(feature.value)
        self.feature = feature


# What the paid plan adds: today, every feature above.
PAID_FEATURES = frozenset(Feature)


def allows(user: User, feature: Feature) -> bool:
    """Whether `user`'s plan includes `feature`."""
    return feature not in PAID_FEATURES or has_paid_plan(user)


def has_paid_plan(user: User) -> bool:
    """A paid plan, held by a doctor or staff member of a practice (patients are always
    free, and a plan is bought within a practice's account)."""
    return (
        user.is_paid
        and user.kind in {User.Kind.DOCTOR, User.Kind.STAFF}
        and user.practice_id is not None
    )


def may_have_plan(user: User) -> bool:
    """Whether `user` can be given a paid plan (bought by them or by their practice's user
    manager): doctors and staff of a practice, once registered. Never patients."""
    return (
        user.kind in {User.Kind.DOCTOR, User.Kind.STAFF}
        and user.practice_id is not None
        and user.is_active
        and user.status == User.Status.ACTIVE
    )


def require(user: User, feature: Feature) -> None:
    """PlanRequired unless `user`'s plan includes `feature` (for the services that write)."""
    if not allows(user, feature):
        raise PlanRequired(feature)
