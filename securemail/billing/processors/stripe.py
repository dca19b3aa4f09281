"""Stripe, through the `stripe` package directly: hosted Checkout for buying, the Billing
Portal for replacing the card, webhooks for every change. Card numbers never reach us.

Only opaque ids go to Stripe: the billing account's id on the customer, our subscription's
id as the checkout's client_reference_id and the subscription's metadata. No names, no
email addresses (receipts are ours), nothing about a patient.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, override

import stripe
from django.conf import settings

from securemail.billing.processors.base import (
    BadSignature,
    CardInfo,
    CheckoutSession,
    CheckoutState,
    InvoiceState,
    PaymentProcessor,
    Plan,
    ProcessorUnavailable,
    SubscriptionState,
    UnknownObject,
    WebhookEvent,
)

_KINDS = {"checkout.session": "checkout", "subscription": "subscription", "invoice": "invoice"}
REFERENCE_KEY = "securemail_plan"


def _at(timestamp: Any) -> datetime | None:
    return datetime.fromtimestamp(int(timestamp), tz=UTC) if timestamp else None


def _get(obj: Any, *path: str | int) -> Any:
    """obj[a][b]… for Stripe objects and plain dicts alike; None when a step is missing."""
    for key in path:
        if obj is None:
            return None
        try:
            obj = obj[key]
        except (KeyError, TypeError, IndexError):
            return None
    return obj


def _id(value: Any) -> str:
    """An id, whether Stripe sent the id or the expanded object."""
    if value is None:
        return ""
    return str(value if isinstance(value, str) else _get(value, "id") or "")


class StripeProcessor(PaymentProcessor):
    name = "stripe"

    def __init__(self) -> None:
        base = settings.STRIPE_API_BASE
        self.client = stripe.StripeClient(
            settings.STRIPE_SECRET_KEY,
            base_addresses={"api": base} if base else {},
            max_network_retries=2,
        )

    def _call[T](self, call: Callable[[], T]) -> T:
        try:
            return call()
        except stripe.InvalidRequestError as error:
            # Stripe says "resource_missing"; a 404 without that code is no such object too.
            if error.code == "resource_missing" or error.http_status == 404:
                raise UnknownObject(str(error.param or "object")) from None
            raise ProcessorUnavailable(type(error).__name__) from None
        except stripe.StripeError as error:
            # Connection, rate limit, authentication, API errors: nothing was done for us.
            raise ProcessorUnavailable(type(error).__name__) from None

    @override
    def create_customer(self, *, account_id: str, idempotency_key: str) -> str:
        customer = self._call(
            lambda: self.client.v1.customers.create(
                {"metadata": {"securemail_account": account_id}},
                {"idempotency_key": idempotency_key},
            )
        )
        return str(customer.id)

    @override
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
        session = self._call(
            lambda: self.client.v1.checkout.sessions.create(
                {
                    "mode": "subscription",
                    "customer": customer_id,
                    "line_items": [{"price": plan.stripe_price, "quantity": 1}],
                    "client_reference_id": reference,
                    "subscription_data": {"metadata": {REFERENCE_KEY: reference}},
                    "success_url": success_url,
                    "cancel_url": cancel_url,
                },
                {"idempotency_key": idempotency_key},
            )
        )
        return CheckoutSession(id=str(session.id), url=str(session.url))

    @override
    def get_checkout(self, checkout_id: str) -> CheckoutState:
        _known(checkout_id)
        session = self._call(
            lambda: self.client.v1.checkout.sessions.retrieve(
                checkout_id, {"expand": ["subscription"]}
            )
        )
        subscription = _get(session, "subscription")
        return CheckoutState(
            id=str(session.id),
            complete=_get(session, "status") == "complete"
            and _get(session, "payment_status") in {"paid", "no_payment_required"},
            subscription_id=_id(subscription),
            # The session names its invoice "if it exists"; the subscription's first invoice
            # is its latest one until it renews.
            invoice_id=_id(_get(session, "invoice")) or _id(_get(subscription, "latest_invoice")),
            reference=str(_get(session, "client_reference_id") or ""),
        )

    @override
    def get_subscription(self, subscription_id: str) -> SubscriptionState:
        _known(subscription_id)
        sub = self._call(
            lambda: self.client.v1.subscriptions.retrieve(
                subscription_id,
                {
                    "expand": [
                        "default_payment_method",
                        "customer.invoice_settings.default_payment_method",
                    ]
                },
            )
        )
        status = _get(sub, "status")
        # Newer API versions keep the period on the subscription's items.
        period_end = _get(sub, "items", "data", 0, "current_period_end") or _get(
            sub, "current_period_end"
        )
        # The card Stripe charges: the subscription's own default, else the customer's (the
        # Billing Portal may change either).
        card = _get(sub, "default_payment_method", "card") or _get(
            sub, "customer", "invoice_settings", "default_payment_method", "card"
        )
        return SubscriptionState(
            id=str(sub.id),
            reference=str(_get(sub, "metadata", REFERENCE_KEY) or ""),
            active=status in {"active", "trialing"},
            payment_failed=status in {"past_due", "unpaid", "incomplete_expired"},
            # incomplete_expired is as final as canceled: nothing is left to end.
            ended=status in {"canceled", "incomplete_expired"},
            current_period_end=_at(period_end),
            cancel_at_period_end=bool(_get(sub, "cancel_at_period_end")),
            card=CardInfo(
                brand=str(_get(card, "brand") or "").title(),
                last4=str(_get(card, "last4") or ""),
                exp_month=int(_get(card, "exp_month") or 0),
                exp_year=int(_get(card, "exp_year") or 0),
            )
            if card
            else None,
        )

    @override
    def get_invoice(self, invoice_id: str) -> InvoiceState:
        _known(invoice_id)
        invoice = self._call(lambda: self.client.v1.invoices.retrieve(invoice_id))
        subscription = _id(
            _get(invoice, "parent", "subscription_details", "subscription")
            or _get(invoice, "subscription")
        )
        line = _get(invoice, "lines", "data", 0, "period") or {}
        created = _at(_get(invoice, "created")) or datetime.now(tz=UTC)
        paid = _get(invoice, "status") == "paid"
        return InvoiceState(
            id=str(invoice.id),
            number=str(_get(invoice, "number") or invoice.id),
            subscription_id=subscription,
            amount_cents=int(_get(invoice, "amount_paid" if paid else "amount_due") or 0),
            currency=str(_get(invoice, "currency") or settings.SECUREMAIL_CURRENCY),
            paid=paid,
            created=created,
            period_start=_at(_get(line, "start")) or created,
            period_end=_at(_get(line, "end")) or created,
        )

    @override
    def renew(self, subscription_id: str) -> SubscriptionState:
        # Stripe renews (and retries) on its own: read what happened.
        return self.get_subscription(subscription_id)

    @override
    def cancel_at_period_end(self, subscription_id: str, *, idempotency_key: str) -> None:
        self._call(
            lambda: self.client.v1.subscriptions.update(
                subscription_id,
                {"cancel_at_period_end": True},
                {"idempotency_key": idempotency_key},
            )
        )

    @override
    def end_now(self, subscription_id: str, *, idempotency_key: str) -> None:
        try:
            self._call(
                lambda: self.client.v1.subscriptions.cancel(
                    subscription_id, {}, {"idempotency_key": idempotency_key}
                )
            )
        except UnknownObject:
            # Gone already: nothing is left to retry.
            return

    @override
    def card_update_url(self, *, customer_id: str, return_url: str) -> str:
        params: dict[str, Any] = {
            "customer": customer_id,
            "return_url": return_url,
            # Straight to replacing the card: cancelling and switching plans stay in our
            # pages (configure the portal so, README "Billing").
            "flow_data": {"type": "payment_method_update"},
        }
        if settings.STRIPE_PORTAL_CONFIGURATION:
            params["configuration"] = settings.STRIPE_PORTAL_CONFIGURATION
        session = self._call(lambda: self.client.v1.billing_portal.sessions.create(params))  # type: ignore[arg-type]
        return str(session.url)

    @override
    def parse_webhook(self, payload: bytes, signature: str) -> WebhookEvent:
        try:
            event = stripe.Webhook.construct_event(
                payload, signature, settings.STRIPE_WEBHOOK_SECRET
            )
        except (stripe.SignatureVerificationError, ValueError, AttributeError, TypeError):
            # A bad signature; or a signed body that isn't an event (no JSON object).
            raise BadSignature("Stripe signature") from None
        event_id, event_type = _get(event, "id"), _get(event, "type")
        if not event_id or not event_type:
            raise BadSignature("signed, but not an event")
        obj = _get(event, "data", "object")
        return WebhookEvent(
            id=str(event_id),
            type=str(event_type),
            object_id=_id(obj),
            object_kind=_KINDS.get(str(_get(obj, "object")), ""),
        )


def _known(object_id: str) -> None:
    """No call for an empty id: Stripe would answer the list, or an unknown URL."""
    if not object_id:
        raise UnknownObject("no id")
