"""The card processor, behind a small interface (base.PaymentProcessor), chosen by
`PAYMENT_PROCESSOR`: Stripe, or the built-in test processor."""

from functools import cache

from django.conf import settings

from securemail.billing.processors.base import (
    BadSignature,
    CardInfo,
    CheckoutSession,
    CheckoutState,
    InvoiceState,
    PaymentProcessor,
    ProcessorUnavailable,
    SubscriptionState,
    WebhookEvent,
)

__all__ = [
    "BadSignature",
    "CardInfo",
    "CheckoutSession",
    "CheckoutState",
    "InvoiceState",
    "PaymentProcessor",
    "ProcessorUnavailable",
    "SubscriptionState",
    "WebhookEvent",
    "processor",
]


def processor() -> PaymentProcessor:
    """The configured processor."""
    return _processor(settings.PAYMENT_PROCESSOR)


@cache
def _processor(name: str) -> PaymentProcessor:
    if name == "stripe":
        from securemail.billing.processors.stripe import StripeProcessor

        return StripeProcessor()
    from securemail.billing.processors.local import LocalProcessor

    return LocalProcessor()
