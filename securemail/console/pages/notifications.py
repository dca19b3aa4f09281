"""The outbox and bounced addresses in the console: what was sent to whom, when, and how
delivery went. Never an outbox row's content (sealed until sent, then wiped) nor its key;
a text's number only masked.

"Not delivered" (the `delivery=undelivered` filter, linked from the console's index) lists
the rows given up for good, failed or bounced: when, kind, outbox id (the one the worker's
ERROR names), the recipient's account, the error's type; never an address or content."""

from typing import Any, override

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from securemail.console.site import ConsolePage, console_site
from securemail.core.phones import masked_phone
from securemail.notifications.access import GIVEN_UP
from securemail.notifications.models import BouncedAddress, OutboxEmail, OutboxText

DELIVERY_COLUMNS = (
    "created_at",
    "kind",
    "id",
    "status",
    "attempts",
    "last_error",
    "sent_at",
    "given_up_at",
)
DELIVERY_FIELDS = (
    "id",
    "kind",
    "status",
    "attempts",
    "last_error",
    "created_at",
    "next_attempt_at",
    "sent_at",
    "given_up_at",
    "content",
    "recipient",
)


class GivenUpFilter(admin.SimpleListFilter):
    """Rows given up for good (failed after every retry, or bounced): what needs an
    operator's eye, newest first."""

    title = "delivery"
    parameter_name = "delivery"

    @override
    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("undelivered", "Not delivered (failed or bounced)")]

    @override
    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "undelivered":
            return queryset.filter(status__in=GIVEN_UP).order_by("-given_up_at", "-created_at")
        return queryset


class DeliveryPage(ConsolePage):
    ordering = ("-created_at",)

    @override
    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        # What the page never shows is never even read.
        return super().get_queryset(request).defer("sealed_payload", "wrapped_key")

    @admin.display(description="content")
    def content(self, row: OutboxEmail | OutboxText) -> str:
        # The key's version is set while the row holds its sealed content, cleared with it.
        if row.key_version is not None:
            return "held sealed until sent"
        return "wiped (sent or given up)"

    @admin.display(description="recipient's account")
    def recipient(self, row: OutboxEmail | OutboxText) -> str:
        if row.recipient_user_id is None:
            return "none"
        url = reverse("console:accounts_user_change", args=[row.recipient_user_id])
        return format_html('<a href="{}">account {}</a>', url, row.recipient_user_id)


@admin.register(OutboxEmail, site=console_site)
class OutboxEmailPage(DeliveryPage):
    list_display = (*DELIVERY_COLUMNS, "to_email", "recipient")
    list_filter = (GivenUpFilter, "status", "kind", "waiting_for_relay")
    search_fields = ("to_email",)
    fields = (*DELIVERY_FIELDS, "to_email", "waiting_for_relay")


@admin.register(OutboxText, site=console_site)
class OutboxTextPage(DeliveryPage):
    list_display = (*DELIVERY_COLUMNS, "channel", "recipient")
    list_filter = (GivenUpFilter, "status", "kind", "channel")
    fields = (*DELIVERY_FIELDS, "channel", "number")

    @admin.display(description="number")
    def number(self, row: OutboxText) -> str:
        return masked_phone(row.to_phone)


@admin.register(BouncedAddress, site=console_site)
class BouncedAddressPage(ConsolePage):
    list_display = ("email", "bounced_at", "smtp_code")
    search_fields = ("email",)
    ordering = ("-bounced_at",)
    fields = ("email", "bounced_at", "smtp_code")
