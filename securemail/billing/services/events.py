"""What the card processor tells us: webhooks (signature verified on the raw body, each
event id handled once) and the buyer's browser coming back from the card page.

Events can arrive out of order, twice, or before the browser returns: none is trusted for
its content. Each says only *what* changed; the current state is read again from the
processor's API, outside any transaction, and then applied (services.state) in the
transaction that also records the event id, so an event takes effect exactly once.
"""

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from securemail.accounts.models import User
from securemail.billing.models import ProcessorEvent, Subscription
from securemail.billing.processors import SubscriptionState, WebhookEvent, processor
from securemail.billing.processors.base import UnknownObject
from securemail.billing.services.state import apply_subscription, record_invoice, stop_retries

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Received:
    event_id: str
    # False when the event id was seen before (nothing done again).
    handled: bool


def receive_webhook(*, payload: bytes, signature: str) -> Received:
    """A webhook request's raw body and signature header. BadSignature when it doesn't
    verify (nothing is done); an event about something we don't know is recorded and
    ignored (logged by id)."""
    event = processor().parse_webhook(payload, signature)
    if ProcessorEvent.objects.filter(event_id=event.id).exists():
        return Received(event.id, handled=False)
    # Read the object's current state now (an HTTP call: never inside a transaction).
    effect = _read(event)
    try:
        with transaction.atomic():
            ProcessorEvent.objects.create(
                event_id=event.id, type=event.type[:64], received_at=timezone.now()
            )
            if effect is not None:
                effect()
    except IntegrityError:
        # The same event handled by another worker at the same moment: it won.
        return Received(event.id, handled=False)
    return Received(event.id, handled=True)


def confirm_checkout(*, actor: User, checkout_id: str) -> Subscription | None:
    """The buyer's browser is back from the card page. The same reconciliation as the
    checkout's webhook (whichever comes first does the work). Only the buyer's own
    checkout; None for one that isn't theirs or isn't paid (yet)."""
    # (An empty id would match a purchase whose checkout never started.)
    sub = (
        Subscription.objects.filter(checkout_id=checkout_id, buyer=actor).first()
        if checkout_id
        else None
    )
    if sub is None:
        return None
    try:
        effect = _checkout_effect(checkout_id)
    except UnknownObject:
        logger.warning("billing: checkout of plan %s unknown to the processor", sub.pk)
        effect = None
    if effect is not None:
        effect()
    sub.refresh_from_db()
    return sub


# A change to apply, once the processor's state has been read.
Effect = Callable[[], None]


def _apply(subscription_id: uuid.UUID, state: SubscriptionState) -> None:
    apply_subscription(subscription_id, state)


def _read(event: WebhookEvent) -> Effect | None:
    try:
        return _read_object(event)
    except UnknownObject:
        logger.warning("billing: event %s about an object the processor doesn't have", event.id)
        return None


def _read_object(event: WebhookEvent) -> Effect | None:
    if event.object_kind == "checkout":
        return _checkout_effect(event.object_id)
    if event.object_kind == "subscription":
        return _subscription_effect(event.object_id)
    if event.object_kind == "invoice":
        return _invoice_effect(event.object_id)
    return None


def _checkout_effect(checkout_id: str) -> Effect | None:
    state = processor().get_checkout(checkout_id)
    sub = _ours(state.reference)
    if sub is None or not state.complete or not state.subscription_id:
        return None
    subscription = processor().get_subscription(state.subscription_id)
    invoice = processor().get_invoice(state.invoice_id) if state.invoice_id else None

    def apply() -> None:
        updated = apply_subscription(sub.pk, subscription)
        if invoice is not None:
            record_invoice(invoice, updated)

    return apply


def _subscription_effect(subscription_id: str) -> Effect | None:
    state = processor().get_subscription(subscription_id)
    sub = _ours(state.reference)
    if sub is None:
        return None
    stop_retries(sub, state)
    return lambda: _apply(sub.pk, state)


def _invoice_effect(invoice_id: str) -> Effect | None:
    invoice = processor().get_invoice(invoice_id)
    if not invoice.subscription_id:
        # A one-off invoice (made in Stripe's dashboard, say): not a plan's.
        return None
    subscription = processor().get_subscription(invoice.subscription_id)
    sub = _ours(subscription.reference)
    if sub is None:
        return None
    stop_retries(sub, subscription)

    def apply() -> None:
        updated = apply_subscription(sub.pk, subscription)
        record_invoice(invoice, updated)

    return apply


def _ours(reference: str) -> Subscription | None:
    """Our subscription named by a processor object's reference; None (logged) for one we
    don't know (another system's customer, or a record deleted since)."""
    try:
        sub = Subscription.objects.select_related("member", "buyer", "account").get(
            pk=uuid.UUID(reference)
        )
    except (ValueError, Subscription.DoesNotExist):
        logger.warning("billing: event about an unknown plan reference; ignored")
        return None
    return sub
