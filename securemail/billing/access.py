"""Reads of plans and invoices for the person they concern. Out of reach is a 404."""

import uuid
from functools import lru_cache

from django.db import connection
from django.db.models import Q, QuerySet
from django.http import Http404

from securemail.accounts.models import User
from securemail.billing.models import Invoice, Subscription
from securemail.core.rows import kept_prepared

LIVE = [Subscription.Status.PENDING, Subscription.Status.ACTIVE]


def live_plan(member: User) -> Subscription | None:
    """The member's plan being bought or in force (at most one)."""
    return (
        Subscription.objects.select_related("buyer", "account")
        .filter(member=member, status__in=LIVE)
        .first()
    )


def active_plan(member: User) -> Subscription | None:
    sub = live_plan(member)
    return sub if sub is not None and sub.status == Subscription.Status.ACTIVE else None


def live_plans_of(members: list[User]) -> dict[int, Subscription]:
    """live_plan for many people at once (one query), by member id."""
    rows = Subscription.objects.select_related("buyer").filter(member__in=members, status__in=LIVE)
    return {sub.member_id: sub for sub in rows}


def payment_problem(user: User) -> Subscription | None:
    """The plan a failed renewal stopped, while nothing has replaced it: the banner that
    says so (and offers Buy Now) shows until the person buys again."""
    # Asked on every page: the newest plan's end reason alone first, in one statement of
    # constant text (0.1 ms; the ORM took 0.75 ms to build it), the whole row (and the
    # member's plan) only when a payment failed.
    with connection.cursor() as cursor, kept_prepared():
        cursor.execute(_newest_plan_sql(), [user.pk, user.pk, Subscription.Status.PENDING])
        newest = cursor.fetchall()
    if not newest or newest[0][1] != Subscription.EndReason.PAYMENT_FAILED:
        return None
    latest = Subscription.objects.get(pk=newest[0][0])
    if latest.member_id != user.pk and active_plan(latest.member) is not None:
        return None
    return latest


@lru_cache(maxsize=1)
def _newest_plan_sql() -> str:
    quote = connection.ops.quote_name
    columns = {f.name: quote(str(f.column)) for f in Subscription._meta.concrete_fields}
    return (
        f"SELECT {columns['id']}, {columns['end_reason']}"  # noqa: S608
        f" FROM {quote(Subscription._meta.db_table)}"
        f" WHERE ({columns['member']} = %s OR {columns['buyer']} = %s)"
        f" AND {columns['status']} <> %s ORDER BY {columns['created_at']} DESC LIMIT 1"
    )


def bought_plan(user: User, subscription_id: uuid.UUID) -> Subscription:
    """A plan `user` bought or has (Http404 for anyone else's)."""
    sub = (
        Subscription.objects.select_related("account", "member", "buyer")
        .filter(Q(member=user) | Q(buyer=user), pk=subscription_id)
        .first()
    )
    if sub is None:
        raise Http404
    return sub


def invoices(user: User) -> QuerySet[Invoice]:
    """Invoices of the plans `user` paid for or has, newest first."""
    return (
        Invoice.objects.filter(Q(subscription__buyer=user) | Q(subscription__member=user))
        .select_related("subscription")
        .order_by("-issued_at", "-pk")
    )
