"""What billing needs from a card processor, in the product's words.

Every call that creates something carries an idempotency key the caller stored before the
call, so a retry never creates twice. Only opaque ids cross: our account and subscription
ids go out, the processor's customer, checkout, subscription and invoice ids come back;
never a person's name or anything about a patient.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class ProcessorUnavailable(Exception):
    """The processor could not be reached or refused the call: nothing was bought."""


class UnknownObject(Exception):
    """The processor has no such object (an id from another system, or deleted)."""


class BadSignature(Exception):
    """A webhook whose signature doesn't verify (or is missing, or too old)."""


@dataclass(frozen=True)
class Plan:
    code: str
    name: str
    cents: int
    interval: str
    stripe_price: str
    # Bytes of attachments an account on this plan may keep (billing.entitlements).
    storage_bytes: int


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str


@dataclass(frozen=True)
class CheckoutState:
    id: str
    # Paid and the subscription created.
    complete: bool
    subscription_id: str
    # The first invoice, paid by the checkout.
    invoice_id: str
    # Our Subscription's id, as given when the checkout was started.
    reference: str


@dataclass(frozen=True)
class CardInfo:
    brand: str
    last4: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True)
class SubscriptionState:
    id: str
    reference: str
    # Paid up: the plan is in force until current_period_end.
    active: bool
    # The latest renewal was not paid: the plan stops at once.
    payment_failed: bool
    # Over for good (canceled, or ended at the end of its period).
    ended: bool
    current_period_end: datetime | None
    cancel_at_period_end: bool
    card: CardInfo | None


@dataclass(frozen=True)
class InvoiceState:
    id: str
    number: str
    subscription_id: str
    amount_cents: int
    currency: str
    paid: bool
    created: datetime
    period_start: datetime
    period_end: datetime


@dataclass(frozen=True)
class WebhookEvent:
    id: str
    type: str
    # The id of what the event is about (a checkout, subscription or invoice).
    object_id: str
    # "checkout", "subscription", "invoice" or "" for kinds we don't act on.
    object_kind: str


class PaymentProcessor(Protocol):
    name: str

    def create_customer(self, *, account_id: str, idempotency_key: str) -> str:
        """A customer for a practice's billing account; returns its id."""
        ...

    def start_checkout(
        self,
        *,
        customer_id: str,
        plan: Plan,
        reference: str,
        success_url: str,
        cancel_url: str,
        idempotency_key: str,
    ) -> CheckoutSession:
        """A hosted page where the buyer enters a card and subscribes to `plan`."""
        ...

    def get_checkout(self, checkout_id: str) -> CheckoutState: ...

    def get_subscription(self, subscription_id: str) -> SubscriptionState: ...

    def get_invoice(self, invoice_id: str) -> InvoiceState: ...

    def renew(self, subscription_id: str) -> SubscriptionState:
        """A subscription whose period has ended: renewed (or not) by the processor, and
        its state now. Stripe renews on its own; the test processor charges here."""
        ...

    def cancel_at_period_end(self, subscription_id: str, *, idempotency_key: str) -> None: ...

    def end_now(self, subscription_id: str, *, idempotency_key: str) -> None:
        """End at once a subscription whose renewal was not paid: the plan is free from
        then on (services.state), so the processor must stop retrying the charge (Stripe
        would, for days, and charge a plan nobody has any more)."""
        ...

    def card_update_url(self, *, customer_id: str, return_url: str) -> str:
        """A hosted page where the buyer replaces the card on file."""
        ...

    def parse_webhook(self, payload: bytes, signature: str) -> WebhookEvent:
        """The event in a webhook request, once its signature verifies (BadSignature)."""
        ...
