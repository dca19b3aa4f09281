"""The plan rule, in one place: what a paid account may do that a free one may not.

Every account starts free: it reads what it is sent and replies to it, attachments
included (SPEC §1). Starting a conversation, inviting someone new, forwarding and replying
to everyone need a paid plan, and only doctors and staff of a practice can have one
(patients are always free). The services that do these things call `require`; views call
`allows` only to decide whether to show a control.

Each account may also keep so many bytes of attachments (`storage_quota`): its paid plan's
(each plan's in its configuration), or the smaller one of free accounts.
"""

from enum import StrEnum
from functools import lru_cache

from django.core.exceptions import PermissionDenied
from django.db import connection

from securemail.accounts.models import User
from securemail.billing import plans
from securemail.billing.models import Subscription
from securemail.core.limits import limits
from securemail.core.rows import kept_prepared


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


def storage_quota(user: User) -> int:
    """Bytes of attachments `user` may keep (what counts: securemail.messaging.quota)."""
    held = None
    if has_paid_plan(user):
        with connection.cursor() as cursor, kept_prepared():
            cursor.execute(f"SELECT {held_plan_sql()}", [user.pk])
            held = cursor.fetchone()[0]
    return storage_quota_of(user, held)


def storage_quota_of(user: User, held_plan: str | None) -> int:
    """storage_quota, for a caller that read the code of the plan `user` holds
    (held_plan_sql) in a statement of its own (the menu: the use and the plan at once).
    Free accounts get SECUREMAIL_FREE_STORAGE_MB; a paid one its plan's `storage_bytes`, or,
    with no plan on record (an account made paid by the demo data or by hand), the smallest
    paid plan's."""
    if not has_paid_plan(user):
        return limits().free_storage_bytes
    offered = {plan.code: plan.storage_bytes for plan in plans.plans()}
    return offered.get(held_plan or "", min(offered.values()))


@lru_cache(maxsize=1)
def held_plan_sql() -> str:
    """A scalar subquery, constant text: the code of the plan in force (at most one: one live
    plan per member) of the member whose id is its one parameter; NULL for none. Only
    storage_quota_of makes sense of it."""
    quote = connection.ops.quote_name
    columns = {f.name: quote(str(f.column)) for f in Subscription._meta.concrete_fields}
    # The status is one of the model's own choices (letters only), not input.
    return (
        f"(SELECT {columns['plan']} FROM {quote(Subscription._meta.db_table)}"  # noqa: S608
        f" WHERE {columns['member']} = %s"
        f" AND {columns['status']} = '{Subscription.Status.ACTIVE.value}' LIMIT 1)"
    )
