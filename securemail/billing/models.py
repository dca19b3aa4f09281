"""Plans and what was paid for them. The card processor (Stripe, or the built-in test
processor) keeps the cards; we keep opaque ids, what a person needs to see (brand and last
four digits, amounts, dates) and the state the product acts on.

Only billing.services writes these rows, and the `plan` of a user (the plan rule's input,
billing.entitlements) changes only through them.
"""

import uuid

from django.conf import settings
from django.db import models

from securemail.accounts.models import Practice


class PlanCode(models.TextChoices):
    MONTHLY = "monthly", "Monthly"
    ANNUAL = "annual", "Annual"


class BillingAccount(models.Model):
    """A practice's one billing account at the card processor (a Stripe customer)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    practice = models.OneToOneField(
        Practice, on_delete=models.PROTECT, related_name="billing_account"
    )
    processor = models.CharField(max_length=16)
    # The processor's id for this account ("cus_…"): opaque, and the only thing it knows of us
    # besides this row's id.
    customer_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Billing account {self.pk}"


class Subscription(models.Model):
    """One person's paid plan, bought by them or by their practice's user manager, within
    their practice's billing account. At most one is live (pending or active) per person."""

    class Status(models.TextChoices):
        # Checkout started, not paid (yet).
        PENDING = "pending", "Waiting for payment"
        ACTIVE = "active", "Active"
        ENDED = "ended", "Ended"

    class EndReason(models.TextChoices):
        CANCELED = "canceled", "Canceled"
        PAYMENT_FAILED = "payment_failed", "Payment failed"
        # A checkout that was never paid, replaced by a newer purchase or left too long.
        ABANDONED = "abandoned", "Not paid"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(
        BillingAccount, on_delete=models.PROTECT, related_name="subscriptions"
    )
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscriptions"
    )
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="subscriptions_bought",
    )
    plan = models.CharField(max_length=16, choices=PlanCode.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    end_reason = models.CharField(max_length=16, choices=EndReason.choices, blank=True)
    # Sent with every create call for this purchase, stored before the first one: a retried
    # call (a double submit, a timeout) can't buy twice.
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    checkout_id = models.CharField(max_length=255, blank=True, db_index=True)
    checkout_url = models.URLField(max_length=2000, blank=True)
    processor_subscription_id = models.CharField(max_length=255, blank=True, db_index=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    canceled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The card it is charged to, as a person recognises it (never the number).
    card_brand = models.CharField(max_length=32, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    card_exp_month = models.PositiveSmallIntegerField(null=True, blank=True)
    card_exp_year = models.PositiveSmallIntegerField(null=True, blank=True)
    # "2027-01": the month whose expiry reminder was sent (once per card expiry).
    card_reminder_sent_for = models.CharField(max_length=7, blank=True)
    created_at = models.DateTimeField()
    activated_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["member"],
                condition=models.Q(status__in=["pending", "active"]),
                name="one_live_plan_per_member",
            )
        ]
        indexes = [models.Index(fields=["status", "current_period_end"], name="plan_due")]

    def __str__(self) -> str:
        return f"Plan {self.pk} ({self.status})"

    @property
    def card(self) -> str:
        """ "Visa ending in 4242"."""
        if not self.card_last4:
            return ""
        return f"{self.card_brand or 'Card'} ending in {self.card_last4}"


class Invoice(models.Model):
    """One charge (a purchase or a renewal), paid or failed: what the invoices page lists."""

    class Status(models.TextChoices):
        PAID = "paid", "Paid"
        FAILED = "failed", "Payment failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(BillingAccount, on_delete=models.PROTECT, related_name="invoices")
    subscription = models.ForeignKey(
        Subscription, null=True, on_delete=models.SET_NULL, related_name="invoices"
    )
    processor_invoice_id = models.CharField(max_length=255, unique=True)
    number = models.CharField(max_length=64)
    amount_cents = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    # The plan and the period, e.g. "SecureMail Pro, monthly: Dec 1, 2026 to Jan 1, 2027".
    description = models.CharField(max_length=200)
    status = models.CharField(max_length=8, choices=Status.choices)
    issued_at = models.DateTimeField()
    receipt_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["account", "-issued_at"], name="invoice_list")]

    def __str__(self) -> str:
        return f"Invoice {self.number}"


class ProcessorEvent(models.Model):
    """A webhook event handled: written in the transaction of its effect, so each event id
    takes effect once however often the processor sends it."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=64)
    received_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


# --- the built-in test processor's own records ------------------------------------------------
# What Stripe would hold on its side, for `PAYMENT_PROCESSOR=test` (development and tests).
# Nothing in the product reads them except billing.processors.local.


class LocalCheckout(models.Model):
    id = models.CharField(primary_key=True, max_length=40)
    customer_id = models.CharField(max_length=40)
    plan = models.CharField(max_length=16, choices=PlanCode.choices)
    # Our Subscription's id (what Stripe calls client_reference_id).
    reference = models.CharField(max_length=64)
    idempotency_key = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=16, default="open")
    subscription_id = models.CharField(max_length=40, blank=True)
    invoice_id = models.CharField(max_length=40, blank=True)
    success_url = models.URLField(max_length=2000)
    cancel_url = models.URLField(max_length=2000)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.id


class LocalSubscription(models.Model):
    id = models.CharField(primary_key=True, max_length=40)
    customer_id = models.CharField(max_length=40)
    plan = models.CharField(max_length=16, choices=PlanCode.choices)
    reference = models.CharField(max_length=64)
    # active, past_due (the last renewal failed), canceled
    status = models.CharField(max_length=16)
    current_period_end = models.DateTimeField()
    cancel_at_period_end = models.BooleanField(default=False)
    card_brand = models.CharField(max_length=32)
    card_last4 = models.CharField(max_length=4)
    card_exp_month = models.PositiveSmallIntegerField()
    card_exp_year = models.PositiveSmallIntegerField()
    # A test control: the next renewal is declined.
    fail_next_renewal = models.BooleanField(default=False)

    def __str__(self) -> str:
        return self.id


class LocalInvoice(models.Model):
    id = models.CharField(primary_key=True, max_length=40)
    subscription_id = models.CharField(max_length=40)
    number = models.CharField(max_length=32)
    amount_cents = models.PositiveIntegerField()
    paid = models.BooleanField()
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.id
