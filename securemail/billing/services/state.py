"""Bringing our records in line with what the processor says: one place for every path
that learns something (a webhook, the buyer's browser coming back, the renewal job), so the
outcome is the same whichever arrives first, and arriving twice changes nothing."""

import uuid

from django.db import IntegrityError, transaction
from django.utils import timezone

from securemail.accounts.models import User
from securemail.audit import services as audit
from securemail.audit.events import Event
from securemail.billing import emails
from securemail.billing.models import Invoice, Subscription
from securemail.billing.plans import plan
from securemail.billing.processors import processor
from securemail.billing.processors.base import InvoiceState, SubscriptionState


def apply_subscription(subscription_id: uuid.UUID, state: SubscriptionState) -> Subscription:
    """Record `state` on our subscription (locked), and set the member's plan from it:
    paid while active, free at once when a renewal failed or the plan ended."""
    with transaction.atomic():
        sub = (
            Subscription.objects.select_for_update(of=("self",))
            .select_related("member", "buyer", "account")
            .get(pk=subscription_id)
        )
        if sub.status == Subscription.Status.ENDED:
            # Over for good: only a new purchase starts a plan again.
            return sub
        sub.processor_subscription_id = state.id
        sub.cancel_at_period_end = state.cancel_at_period_end
        if state.current_period_end is not None:
            sub.current_period_end = state.current_period_end
        if state.card is not None:
            if (sub.card_exp_month, sub.card_exp_year) != (
                state.card.exp_month,
                state.card.exp_year,
            ):
                # A new expiry date deserves its own reminder in due time.
                sub.card_reminder_sent_for = ""
            sub.card_brand, sub.card_last4 = state.card.brand, state.card.last4
            sub.card_exp_month, sub.card_exp_year = state.card.exp_month, state.card.exp_year
        now = timezone.now()
        if state.active:
            if sub.status != Subscription.Status.ACTIVE:
                sub.status = Subscription.Status.ACTIVE
                sub.activated_at = now
                _audit(Event.PLAN_ACTIVATED, sub)
            _set_plan(sub.member, User.Plan.PAID)
        elif state.payment_failed or state.ended:
            was_active = sub.status == Subscription.Status.ACTIVE
            sub.status = Subscription.Status.ENDED
            sub.ended_at = now
            sub.end_reason = (
                Subscription.EndReason.PAYMENT_FAILED
                if state.payment_failed
                else Subscription.EndReason.CANCELED
            )
            _set_plan(sub.member, User.Plan.FREE)
            if state.payment_failed:
                _audit(Event.PLAN_PAYMENT_FAILED, sub)
                for person in _payers(sub):
                    emails.queue_payment_failed(subscription=sub, to=person)
            elif was_active:
                _audit(Event.PLAN_ENDED, sub)
        sub.save()
        return sub


def record_invoice(state: InvoiceState, subscription: Subscription) -> Invoice:
    """Our copy of one invoice (once per processor invoice), and its receipt (once)."""
    the_plan = plan(subscription.plan)
    start, end = state.period_start, state.period_end
    description = (
        f"{the_plan.name} for {subscription.member.display_name}: "
        f"{start:%b %-d, %Y} to {end:%b %-d, %Y}"
    )[:200]
    with transaction.atomic():
        try:
            with transaction.atomic():
                invoice, _ = Invoice.objects.get_or_create(
                    processor_invoice_id=state.id,
                    defaults={
                        "account": subscription.account,
                        "subscription": subscription,
                        "number": state.number,
                        "amount_cents": state.amount_cents,
                        "currency": state.currency,
                        "description": description,
                        "status": Invoice.Status.PAID if state.paid else Invoice.Status.FAILED,
                        "issued_at": state.created,
                    },
                )
        except IntegrityError:
            invoice = Invoice.objects.get(processor_invoice_id=state.id)
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if state.paid and invoice.status != Invoice.Status.PAID:
            invoice.status = Invoice.Status.PAID
            invoice.save(update_fields=["status"])
        if invoice.status == Invoice.Status.PAID and invoice.receipt_sent_at is None:
            invoice.receipt_sent_at = timezone.now()
            invoice.save(update_fields=["receipt_sent_at"])
            emails.queue_receipt(invoice=invoice, to=subscription.buyer or subscription.member)
            if subscription.invoices.exclude(pk=invoice.pk).filter(status="paid").exists():
                # Not the first payment of this plan: a renewal.
                _audit(Event.PLAN_RENEWED, subscription)
    return invoice


def _payers(sub: Subscription) -> list[User]:
    """Who hears about a payment: the buyer, and the member if someone else paid."""
    people = [sub.buyer or sub.member]
    if sub.member_id not in {p.pk for p in people}:
        people.append(sub.member)
    return people


def _set_plan(member: User, value: str) -> None:
    if member.plan != value:
        User.objects.filter(pk=member.pk).update(plan=value)
        member.plan = value


def _audit(event: Event, sub: Subscription) -> None:
    audit.record(
        event,
        actor_id=None,
        practice_id=sub.account.practice_id,
        target=f"plan:{sub.pk}",
        data={"member": sub.member_id, "plan": sub.plan},
    )


def stop_retries(sub: Subscription, state: SubscriptionState) -> None:
    """A renewal that wasn't paid ends the plan at once (services.state): the processor's
    subscription ends too, or its retries would charge for a plan nobody has, and a new
    purchase would pay twice. Before the event is recorded: should this call fail, the
    event comes again (503) and it is tried again, with the same key."""
    if state.payment_failed and not state.ended:
        processor().end_now(state.id, idempotency_key=f"end-{sub.pk}")
