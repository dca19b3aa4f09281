"""The only writers of plans, payments and invoices (see each module)."""

from securemail.billing.services.events import confirm_checkout, receive_webhook
from securemail.billing.services.purchases import (
    PurchaseStarted,
    cancel_for_member,
    cancel_own,
    card_update_url,
    email_invoice_list,
    start_own_purchase,
    start_purchase_for_member,
)
from securemail.billing.services.renewals import (
    abandon_stale_checkouts,
    renew_due_plans,
    send_card_reminders,
)

__all__ = [
    "PurchaseStarted",
    "abandon_stale_checkouts",
    "cancel_for_member",
    "cancel_own",
    "card_update_url",
    "confirm_checkout",
    "email_invoice_list",
    "receive_webhook",
    "renew_due_plans",
    "send_card_reminders",
    "start_own_purchase",
    "start_purchase_for_member",
]
