"""The built-in test processor (`PAYMENT_PROCESSOR=test`, development and tests only).

It behaves like Stripe where the product can tell: a hosted card page per checkout (ours,
under /billing/test-processor/), subscriptions that renew at the end of their period,
invoices, and signed webhook events for each change, delivered to the same handler Stripe's
go to. Stripe's well-known test numbers behave as in Stripe's test mode:

- 4242 4242 4242 4242 (and any other number with a valid check digit) succeeds;
- 4000 0000 0000 0002 is declined; 4000 0000 0000 9995 fails for insufficient funds;
- a past expiry date, a bad check digit or a malformed CVC is refused with a clear message;
- a renewal can be made to fail (`fail_next_renewal`, or an expired card at renewal time).
"""

import calendar
import hashlib
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import override

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from securemail.billing.models import LocalCheckout, LocalInvoice, LocalSubscription
from securemail.billing.processors import signing
from securemail.billing.processors.base import (
    BadSignature,
    CardInfo,
    CheckoutSession,
    CheckoutState,
    InvoiceState,
    PaymentProcessor,
    Plan,
    SubscriptionState,
    UnknownObject,
    WebhookEvent,
)

logger = logging.getLogger(__name__)

DECLINED = {
    "4000000000000002": "Your card was declined.",
    "4000000000009995": "Your card has insufficient funds.",
}
_KINDS = {"checkout.session": "checkout", "subscription": "subscription", "invoice": "invoice"}


class CardRefused(Exception):
    """The card page's answer when a card can't be charged; `str(error)` says why."""


@dataclass(frozen=True)
class TestCard:
    number: str
    exp_month: int
    exp_year: int
    cvc: str


def webhook_secret() -> str:
    """The test processor's signing secret (derived from SECRET_KEY: nothing to configure)."""
    return salted_hmac(
        "securemail.billing.local-webhook", "processor", algorithm="sha256"
    ).hexdigest()


def check_card(card: TestCard, *, now: datetime | None = None) -> CardInfo:
    """The card as a person recognises it, or CardRefused with the reason."""
    digits = "".join(card.number.split()).replace("-", "")
    if not digits.isdigit() or not 12 <= len(digits) <= 19:
        raise CardRefused("Enter the card number (12 to 19 digits).")
    if not _luhn_ok(digits):
        raise CardRefused("This card number is not valid: check the digits.")
    if not 1 <= card.exp_month <= 12:
        raise CardRefused("Enter the expiry month (1 to 12).")
    if not (card.cvc.isdigit() and len(card.cvc) in {3, 4}):
        raise CardRefused("Enter the 3- or 4-digit security code.")
    if _expired(card.exp_month, card.exp_year, now or timezone.now()):
        raise CardRefused("This card has expired: use another card.")
    if digits in DECLINED:
        raise CardRefused(DECLINED[digits])
    return CardInfo(
        brand=_brand(digits), last4=digits[-4:], exp_month=card.exp_month, exp_year=card.exp_year
    )


def _luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _brand(digits: str) -> str:
    if digits.startswith("4"):
        return "Visa"
    if digits[:2] in {"51", "52", "53", "54", "55"} or "2221" <= digits[:4] <= "2720":
        return "Mastercard"
    if digits[:2] in {"34", "37"}:
        return "American Express"
    if digits.startswith("6011") or digits.startswith("65"):
        return "Discover"
    return "Card"


def _expired(month: int, year: int, now: datetime) -> bool:
    year = year + 2000 if year < 100 else year
    last_day = calendar.monthrange(year, month)[1]
    return datetime(year, month, last_day, 23, 59, tzinfo=UTC) < now


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def _period(start: datetime, interval: str) -> datetime:
    return start + (timedelta(days=365) if interval == "year" else timedelta(days=30))


class LocalProcessor(PaymentProcessor):
    name = "test"

    # --- the interface (base.PaymentProcessor) --------------------------------------------

    @override
    def create_customer(self, *, account_id: str, idempotency_key: str) -> str:
        # The same key gives the same customer, as Stripe's idempotency does.
        return "lcus_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]

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
        try:
            with transaction.atomic():
                checkout, _ = LocalCheckout.objects.get_or_create(
                    idempotency_key=idempotency_key,
                    defaults={
                        "id": _new_id("lcs"),
                        "customer_id": customer_id,
                        "plan": plan.code,
                        "reference": reference,
                        "success_url": success_url,
                        "cancel_url": cancel_url,
                        "created_at": timezone.now(),
                    },
                )
        except IntegrityError:
            checkout = LocalCheckout.objects.get(idempotency_key=idempotency_key)
        return CheckoutSession(id=checkout.id, url=self._url("billing:test_checkout", checkout.id))

    @override
    def get_checkout(self, checkout_id: str) -> CheckoutState:
        checkout = _one(LocalCheckout, checkout_id)
        return CheckoutState(
            id=checkout.id,
            complete=checkout.status == "complete",
            subscription_id=checkout.subscription_id,
            invoice_id=checkout.invoice_id,
            reference=checkout.reference,
        )

    @override
    def get_subscription(self, subscription_id: str) -> SubscriptionState:
        return _state(_one(LocalSubscription, subscription_id))

    @override
    def get_invoice(self, invoice_id: str) -> InvoiceState:
        invoice = _one(LocalInvoice, invoice_id)
        return InvoiceState(
            id=invoice.id,
            number=invoice.number,
            subscription_id=invoice.subscription_id,
            amount_cents=invoice.amount_cents,
            currency=settings.SECUREMAIL_CURRENCY,
            paid=invoice.paid,
            created=invoice.created_at,
            period_start=invoice.period_start,
            period_end=invoice.period_end,
        )

    @override
    def renew(self, subscription_id: str) -> SubscriptionState:
        from securemail.billing.plans import plan

        now = timezone.now()
        with transaction.atomic():
            sub = LocalSubscription.objects.select_for_update().get(pk=subscription_id)
            if sub.status != "active" or sub.current_period_end > now:
                return _state(sub)
            if sub.cancel_at_period_end:
                sub.status = "canceled"
                sub.save(update_fields=["status"])
                self._send("customer.subscription.deleted", sub.id, "subscription")
                return _state(sub)
            start = sub.current_period_end
            end = _period(start, plan(sub.plan).interval)
            paid = not sub.fail_next_renewal and not _expired(
                sub.card_exp_month, sub.card_exp_year, now
            )
            invoice = self._invoice(sub, paid=paid, start=start, end=end)
            if paid:
                sub.current_period_end = end
            else:
                sub.status = "past_due"
                sub.fail_next_renewal = False
            sub.save(update_fields=["current_period_end", "status", "fail_next_renewal"])
            self._send("invoice.paid" if paid else "invoice.payment_failed", invoice.id, "invoice")
            self._send("customer.subscription.updated", sub.id, "subscription")
            return _state(sub)

    @override
    def cancel_at_period_end(self, subscription_id: str, *, idempotency_key: str) -> None:
        with transaction.atomic():
            sub = LocalSubscription.objects.select_for_update().get(pk=subscription_id)
            if not sub.cancel_at_period_end:
                sub.cancel_at_period_end = True
                sub.save(update_fields=["cancel_at_period_end"])
                self._send("customer.subscription.updated", sub.id, "subscription")

    @override
    def end_now(self, subscription_id: str, *, idempotency_key: str) -> None:
        LocalSubscription.objects.filter(pk=subscription_id).exclude(status="canceled").update(
            status="canceled"
        )

    @override
    def card_update_url(self, *, customer_id: str, return_url: str) -> str:
        from urllib.parse import urlencode

        return self._url("billing:test_card", customer_id) + "?" + urlencode({"return": return_url})

    @override
    def parse_webhook(self, payload: bytes, signature: str) -> WebhookEvent:
        signing.verify(payload, signature, webhook_secret())
        try:
            body = json.loads(payload)
            obj = body["data"]["object"]
            return WebhookEvent(
                id=str(body["id"]),
                type=str(body["type"]),
                object_id=str(obj["id"]),
                object_kind=_KINDS.get(str(obj.get("object")), ""),
            )
        except (ValueError, KeyError, TypeError):
            raise BadSignature("signed, but not an event") from None

    # --- the processor's own pages (billing.views.test_processor) --------------------------

    def pay(self, checkout_id: str, card: TestCard) -> str:
        """Pay a checkout with `card`: the subscription starts, its first invoice is paid,
        the events go out. Returns where the buyer goes next; CardRefused otherwise."""
        from securemail.billing.plans import plan

        info = check_card(card)
        now = timezone.now()
        with transaction.atomic():
            checkout = LocalCheckout.objects.select_for_update().get(pk=checkout_id)
            if checkout.status != "open":
                return _success(checkout)
            sub = LocalSubscription.objects.create(
                id=_new_id("lsub"),
                customer_id=checkout.customer_id,
                plan=checkout.plan,
                reference=checkout.reference,
                status="active",
                current_period_end=_period(now, plan(checkout.plan).interval),
                card_brand=info.brand,
                card_last4=info.last4,
                card_exp_month=info.exp_month,
                card_exp_year=info.exp_year,
            )
            invoice = self._invoice(sub, paid=True, start=now, end=sub.current_period_end)
            checkout.status = "complete"
            checkout.subscription_id = sub.id
            checkout.invoice_id = invoice.id
            checkout.save(update_fields=["status", "subscription_id", "invoice_id"])
            self._send("checkout.session.completed", checkout.id, "checkout.session")
            self._send("invoice.paid", invoice.id, "invoice")
        return _success(checkout)

    def checkout_page(self, checkout_id: str) -> LocalCheckout | None:
        return LocalCheckout.objects.filter(pk=checkout_id).first()

    def update_card(self, customer_id: str, card: TestCard) -> None:
        """Replace the card of the customer's subscriptions (CardRefused for a bad one).
        A subscription whose renewal failed stays failed: only buying again restarts it."""
        info = check_card(card)
        with transaction.atomic():
            for sub in LocalSubscription.objects.select_for_update().filter(
                customer_id=customer_id
            ):
                sub.card_brand, sub.card_last4 = info.brand, info.last4
                sub.card_exp_month, sub.card_exp_year = info.exp_month, info.exp_year
                sub.save()
                self._send("customer.subscription.updated", sub.id, "subscription")

    def fail_next_renewal(self, subscription_id: str) -> None:
        LocalSubscription.objects.filter(pk=subscription_id).update(fail_next_renewal=True)

    def end_period_now(self, subscription_id: str) -> None:
        """Move the subscription's renewal to now (a test and demo control)."""
        LocalSubscription.objects.filter(pk=subscription_id).update(
            current_period_end=timezone.now()
        )

    # --- internals -------------------------------------------------------------------------

    def _invoice(
        self, sub: LocalSubscription, *, paid: bool, start: datetime, end: datetime
    ) -> LocalInvoice:
        from securemail.billing.plans import plan

        count = LocalInvoice.objects.count() + 1
        return LocalInvoice.objects.create(
            id=_new_id("lin"),
            subscription_id=sub.id,
            number=f"TEST-{count:06d}-{secrets.token_hex(2).upper()}",
            amount_cents=plan(sub.plan).cents,
            paid=paid,
            period_start=start,
            period_end=end,
            created_at=timezone.now(),
        )

    def _url(self, name: str, object_id: str) -> str:
        return settings.SECUREMAIL_BASE_URL + reverse(name, args=[object_id])

    def _send(self, event_type: str, object_id: str, object_type: str) -> None:
        """Deliver a signed event to the webhook handler once this transaction commits,
        as Stripe would (possibly before the buyer's browser comes back)."""
        payload = json.dumps(
            {
                "id": _new_id("levt"),
                "type": event_type,
                "data": {"object": {"id": object_id, "object": object_type}},
            }
        ).encode()

        def deliver() -> None:
            from securemail.billing.services.events import receive_webhook

            try:
                receive_webhook(payload=payload, signature=signing.sign(payload, webhook_secret()))
            except Exception:
                # A real processor retries later; here the return page and the renewal job
                # read the state themselves, so nothing is lost. Logged with ids only.
                logger.exception("billing: test processor event %s not handled", event_type)

        transaction.on_commit(deliver)


def _one[M: (LocalCheckout, LocalSubscription, LocalInvoice)](model: type[M], object_id: str) -> M:
    """The object, or UnknownObject (as Stripe answers for an id it doesn't have)."""
    found = model.objects.filter(pk=object_id).first()
    if found is None:
        raise UnknownObject(model.__name__)
    return found


def _success(checkout: LocalCheckout) -> str:
    # As Stripe does: the placeholder in the success URL becomes the checkout's id.
    return checkout.success_url.replace("{CHECKOUT_SESSION_ID}", checkout.id)


def _state(sub: LocalSubscription) -> SubscriptionState:
    return SubscriptionState(
        id=sub.id,
        reference=sub.reference,
        active=sub.status == "active",
        payment_failed=sub.status == "past_due",
        ended=sub.status == "canceled",
        current_period_end=sub.current_period_end,
        cancel_at_period_end=sub.cancel_at_period_end,
        card=CardInfo(
            brand=sub.card_brand,
            last4=sub.card_last4,
            exp_month=sub.card_exp_month,
            exp_year=sub.card_exp_year,
        ),
    )
