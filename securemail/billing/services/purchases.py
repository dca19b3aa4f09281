"""Buying, cancelling and paying for plans.

Who pays where (SPEC §5): a practice has one billing account; a plan is always bought
within the account of the member's practice (*in my practice* invitees joined the inviting
practice, *another practice* invitees founded their own). A user buys for themselves, or
their practice's user manager buys for them: the manager's rule is the practices app's, so
that path enters through practices.services, which authorizes and then calls
`start_purchase_for_member` / `cancel_for_member` here. Patients never have a plan.

Every call to the processor that creates something carries an idempotency key stored
before the call; no call to the processor happens inside a database transaction.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from securemail.accounts.models import User
from securemail.audit import services as audit
from securemail.audit.events import Event
from securemail.billing import emails, entitlements
from securemail.billing.errors import (
    AlreadyPaid,
    NoPlanForThisAccount,
    NotTheBuyer,
    TooManyPurchases,
)
from securemail.billing.models import BillingAccount, Invoice, PlanCode, Subscription
from securemail.billing.plans import plan
from securemail.billing.processors import CheckoutSession, processor
from securemail.billing.processors.base import UnknownObject
from securemail.core import ratelimit

# A checkout page left unpaid this long is replaced by a new one (Stripe's expire after 24 h).
CHECKOUT_HOURS = 23


@dataclass(frozen=True)
class PurchaseStarted:
    subscription: Subscription
    # The processor's card page, where the buyer goes next.
    url: str


def start_own_purchase(*, member: User, plan_code: str) -> PurchaseStarted:
    """A doctor or staff member buys a plan for themselves (NoPlanForThisAccount for a
    patient or an account outside a practice; AlreadyPaid; TooManyPurchases;
    ProcessorUnavailable when the card processor can't be reached: nothing is bought)."""
    return _start(buyer=member, member=member, plan_code=plan_code)


def start_purchase_for_member(*, manager: User, member: User, plan_code: str) -> PurchaseStarted:
    """The practice's user manager buys a plan for one of its people. For
    practices.services only, which has checked the manager's rule."""
    if manager.practice_id is None or manager.practice_id != member.practice_id:
        raise NoPlanForThisAccount("Plans are bought within the member's own practice.")
    return _start(buyer=manager, member=member, plan_code=plan_code)


def _start(*, buyer: User, member: User, plan_code: str) -> PurchaseStarted:
    if not entitlements.may_have_plan(member) or member.practice is None:
        raise NoPlanForThisAccount("This account can't have a paid plan.")
    if plan_code not in PlanCode.values:
        raise KeyError(plan_code)
    try:
        ratelimit.spend("purchase", f"user:{buyer.pk}")
    except ratelimit.RateLimited:
        raise TooManyPurchases("Too many purchases started. Wait an hour and try again.") from None
    account = _account_for(member)
    sub = _pending(buyer=buyer, member=member, account=account, plan_code=plan_code)
    if sub.checkout_url:
        # The same purchase again (a double click, a second tab): the same card page.
        return PurchaseStarted(subscription=sub, url=sub.checkout_url)
    try:
        checkout = _checkout(account, sub, plan_code)
    except UnknownObject:
        # The processor no longer has the account's customer (deleted there, or other API
        # keys): a new customer, and the checkout again (under a key of its own).
        BillingAccount.objects.filter(pk=account.pk).update(customer_id="")
        account.customer_id = ""
        checkout = _checkout(account, sub, plan_code, again=True)
    Subscription.objects.filter(pk=sub.pk).update(
        checkout_id=checkout.id, checkout_url=checkout.url
    )
    sub.checkout_id, sub.checkout_url = checkout.id, checkout.url
    return PurchaseStarted(subscription=sub, url=checkout.url)


def _checkout(
    account: BillingAccount, sub: Subscription, plan_code: str, *, again: bool = False
) -> CheckoutSession:
    return processor().start_checkout(
        customer_id=_customer_id(account, replacing_for=sub if again else None),
        plan=plan(plan_code),
        reference=str(sub.pk),
        success_url=f"{_base()}{reverse('billing:checkout_return')}?checkout={{CHECKOUT_SESSION_ID}}",
        cancel_url=_base() + reverse("billing:plan"),
        idempotency_key=f"checkout-{sub.idempotency_key}" + ("-new-customer" if again else ""),
    )


def _pending(*, buyer: User, member: User, account: BillingAccount, plan_code: str) -> Subscription:
    """The member's pending purchase of this plan, or a new one (its idempotency key stored
    now, before any call). One live plan per member: the member's row is locked meanwhile."""
    now = timezone.now()
    with transaction.atomic():
        User.objects.select_for_update().get(pk=member.pk)
        live = Subscription.objects.filter(
            member=member, status__in=[Subscription.Status.PENDING, Subscription.Status.ACTIVE]
        ).first()
        if (live is not None and live.status == Subscription.Status.ACTIVE) or (
            live is None and member.plan == User.Plan.PAID
        ):
            raise AlreadyPaid(f"{member.display_name} already has a paid plan.")
        if live is not None:
            fresh = live.created_at > now - timedelta(hours=CHECKOUT_HOURS)
            if fresh and live.plan == plan_code and live.buyer_id == buyer.pk:
                return live
            live.status = Subscription.Status.ENDED
            live.end_reason = Subscription.EndReason.ABANDONED
            live.ended_at = now
            live.save(update_fields=["status", "end_reason", "ended_at"])
        sub = Subscription.objects.create(
            account=account, member=member, buyer=buyer, plan=plan_code, created_at=now
        )
        audit.record(
            Event.PURCHASE_STARTED,
            actor_id=buyer.pk,
            practice_id=account.practice_id,
            target=f"plan:{sub.pk}",
            data={"member": member.pk, "plan": plan_code},
        )
    return sub


def _account_for(member: User) -> BillingAccount:
    assert member.practice_id is not None
    account, _ = BillingAccount.objects.get_or_create(
        practice_id=member.practice_id,
        defaults={"processor": processor().name, "created_at": timezone.now()},
    )
    return account


def _customer_id(account: BillingAccount, *, replacing_for: Subscription | None = None) -> str:
    """The account's customer at the processor, created on first use. Its idempotency key
    is the account's own id, so two first purchases at once create one customer; a customer
    the processor lost is replaced under a key named after the purchase that found out."""
    if account.customer_id:
        return account.customer_id
    key = f"customer-{account.pk}"
    if replacing_for is not None:
        key += f"-for-{replacing_for.idempotency_key}"
    customer_id = processor().create_customer(account_id=str(account.pk), idempotency_key=key)
    BillingAccount.objects.filter(pk=account.pk, customer_id="").update(customer_id=customer_id)
    account.refresh_from_db(fields=["customer_id"])
    return account.customer_id


def cancel_own(*, actor: User, subscription: Subscription) -> None:
    """Whoever bought a plan ends it at the end of the paid period (NotTheBuyer for anyone
    else: the practice's user manager cancels through practices.services)."""
    if subscription.buyer_id != actor.pk:
        raise NotTheBuyer("Only whoever bought this plan can cancel it.")
    _cancel(actor=actor, subscription=subscription)


def cancel_for_member(*, manager: User, subscription: Subscription) -> None:
    """The practice's user manager ends a plan of one of its people. For practices.services
    only, which has checked the manager's rule."""
    if subscription.account.practice_id != manager.practice_id:
        raise NotTheBuyer("Plans are managed within their own practice.")
    _cancel(actor=manager, subscription=subscription)


def _cancel(*, actor: User, subscription: Subscription) -> None:
    if subscription.status != Subscription.Status.ACTIVE or subscription.cancel_at_period_end:
        return
    processor().cancel_at_period_end(
        subscription.processor_subscription_id, idempotency_key=f"cancel-{subscription.pk}"
    )
    with transaction.atomic():
        Subscription.objects.filter(pk=subscription.pk).update(
            cancel_at_period_end=True, canceled_by=actor
        )
        audit.record(
            Event.PLAN_CANCEL_REQUESTED,
            actor_id=actor.pk,
            practice_id=subscription.account.practice_id,
            target=f"plan:{subscription.pk}",
            data={"member": subscription.member_id},
        )
    subscription.cancel_at_period_end = True


def card_update_url(*, actor: User, subscription: Subscription) -> str:
    """The processor's page for replacing the card a plan is paid with (the buyer only).
    A plan stopped by a failed payment stays stopped: only buying again restarts it."""
    if subscription.buyer_id != actor.pk:
        raise NotTheBuyer("Only whoever pays for this plan can change its card.")
    url = processor().card_update_url(
        customer_id=subscription.account.customer_id,
        return_url=_base() + reverse("billing:plan"),
    )
    audit.record(
        Event.CARD_UPDATE_STARTED,
        actor_id=actor.pk,
        practice_id=subscription.account.practice_id,
        target=f"plan:{subscription.pk}",
    )
    return url


def email_invoice_list(*, actor: User, invoices: list[Invoice]) -> None:
    """Email the invoices page to the person looking at it (rate limited: it is an email on
    request)."""
    try:
        ratelimit.spend("invoice_email", f"invoices:{actor.pk}")
    except ratelimit.RateLimited:
        raise TooManyPurchases("Too many emails asked for. Wait an hour and try again.") from None
    with transaction.atomic():
        emails.queue_invoice_list(invoices=invoices, to=actor)
        audit.record(Event.INVOICE_LIST_SENT, actor_id=actor.pk, practice_id=actor.practice_id)


def _base() -> str:
    return str(settings.SECUREMAIL_BASE_URL)
