"""What billing sends: a receipt per paid invoice, the failed renewal, the card about to
expire, and the invoice list on request. One function each; amounts, plan names, dates and
invoice numbers only."""

from django.conf import settings
from django.urls import reverse

from securemail.accounts.models import User
from securemail.billing.models import Invoice, Subscription
from securemail.billing.plans import plan, price
from securemail.notifications.models import NotificationKind
from securemail.notifications.services import queue_email


def _plan_page() -> str:
    return settings.SECUREMAIL_BASE_URL + reverse("billing:plan")


def queue_receipt(*, invoice: Invoice, to: User) -> None:
    """The receipt for one paid invoice (a purchase or a renewal)."""
    queue_email(
        to=to.email,
        template="billing/emails/receipt",
        context={
            "number": invoice.number,
            "amount": price(invoice.amount_cents),
            "description": invoice.description,
            "issued_at": invoice.issued_at,
            "link": settings.SECUREMAIL_BASE_URL + reverse("billing:invoices"),
        },
        kind=NotificationKind.RECEIPT,
        recipient_user_id=to.pk,
    )


def queue_payment_failed(*, subscription: Subscription, to: User) -> None:
    """A renewal was not paid: the plan stopped; buying again restarts it."""
    queue_email(
        to=to.email,
        template="billing/emails/payment_failed",
        context={
            "plan_name": plan(subscription.plan).name,
            "member_name": subscription.member.display_name,
            "for_someone_else": subscription.member_id != to.pk,
            "link": _plan_page(),
        },
        kind=NotificationKind.PAYMENT_FAILED,
        recipient_user_id=to.pk,
    )


def queue_card_expiring(*, subscription: Subscription, to: User) -> None:
    """The card a plan renews with expires before the next renewal."""
    queue_email(
        to=to.email,
        template="billing/emails/card_expiring",
        context={
            "card": subscription.card,
            "expires": f"{subscription.card_exp_month:02d}/{subscription.card_exp_year}",
            "plan_name": plan(subscription.plan).name,
            "link": _plan_page(),
        },
        kind=NotificationKind.CARD_EXPIRING,
        recipient_user_id=to.pk,
    )


def queue_invoice_list(*, invoices: list[Invoice], to: User) -> None:
    """The invoices page, by email (the person asked for it)."""
    rows = [
        {
            "number": i.number,
            "amount": price(i.amount_cents),
            "description": i.description,
            "issued_at": i.issued_at,
            "status": i.get_status_display(),
        }
        for i in invoices
    ]
    queue_email(
        to=to.email,
        template="billing/emails/invoice_list",
        context={"rows": rows, "link": settings.SECUREMAIL_BASE_URL + reverse("billing:invoices")},
        kind=NotificationKind.INVOICE_LIST,
        recipient_user_id=to.pk,
    )
