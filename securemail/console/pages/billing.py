"""Billing in the console: billing accounts, plans, invoices and webhook events.

Never a card number (the processor keeps them; we hold brand and last four), nor a webhook
event's payload (only its id, type and when it was handled), nor a checkout's URL (it is
the buyer's card page) or an idempotency key. The test processor's own records are not
pages: they stand for Stripe's side.
"""

from django.contrib import admin

from securemail.billing.models import BillingAccount, Invoice, ProcessorEvent, Subscription
from securemail.billing.plans import price
from securemail.console.site import ConsolePage, console_site


@admin.register(BillingAccount, site=console_site)
class BillingAccountPage(ConsolePage):
    list_display = ("practice", "processor", "customer_id", "created_at")
    search_fields = ("customer_id", "practice__name")
    ordering = ("-created_at",)
    fields = ("id", "practice", "processor", "customer_id", "created_at")


@admin.register(Subscription, site=console_site)
class SubscriptionPage(ConsolePage):
    list_display = (
        "member",
        "plan",
        "status",
        "end_reason",
        "current_period_end",
        "cancel_at_period_end",
        "buyer",
    )
    list_filter = ("status", "plan", "end_reason")
    search_fields = ("member__email", "processor_subscription_id")
    ordering = ("-created_at",)
    fields = (
        "id",
        "account",
        "member",
        "buyer",
        "plan",
        "status",
        "end_reason",
        "processor_subscription_id",
        "current_period_end",
        "cancel_at_period_end",
        "canceled_by",
        "card",
        "created_at",
        "activated_at",
        "ended_at",
    )


@admin.register(Invoice, site=console_site)
class InvoicePage(ConsolePage):
    list_display = ("number", "account", "amount", "status", "issued_at", "receipt_sent_at")
    list_filter = ("status",)
    search_fields = ("number", "processor_invoice_id")
    ordering = ("-issued_at",)
    fields = (
        "number",
        "account",
        "subscription",
        "processor_invoice_id",
        "amount",
        "description",
        "status",
        "issued_at",
        "receipt_sent_at",
    )

    @admin.display(description="amount")
    def amount(self, row: Invoice) -> str:
        return price(row.amount_cents)


@admin.register(ProcessorEvent, site=console_site)
class ProcessorEventPage(ConsolePage):
    list_display = ("event_id", "type", "received_at")
    list_filter = ("type",)
    search_fields = ("event_id",)
    ordering = ("-received_at",)
    fields = ("event_id", "type", "received_at")
