"""Plan, purchase and invoice pages; the processor's webhook; the test processor's pages."""

from securemail.billing.views.local_processor import card_page, card_update_page, controls_page
from securemail.billing.views.plans import (
    buy,
    cancel,
    change_card,
    checkout_return,
    email_invoices,
    invoices,
    plan_page,
)
from securemail.billing.views.webhooks import stripe_webhook

__all__ = [
    "buy",
    "cancel",
    "card_page",
    "card_update_page",
    "change_card",
    "checkout_return",
    "controls_page",
    "email_invoices",
    "invoices",
    "plan_page",
    "stripe_webhook",
]
