"""The plans on sale, from configuration (settings.SECUREMAIL_PLANS): names and prices for
our pages and receipts, the processor's price ids for checkout."""

from typing import Any

from django.conf import settings

from securemail.billing.models import PlanCode
from securemail.billing.processors.base import Plan


def plans() -> list[Plan]:
    """Every plan, monthly first."""
    return [plan(code) for code in PlanCode.values]


def plan(code: str) -> Plan:
    """The plan named `code` (KeyError for one that isn't configured)."""
    config: dict[str, Any] = settings.SECUREMAIL_PLANS[code]
    return Plan(
        code=code,
        name=str(config["name"]),
        cents=int(config["cents"]),
        interval=str(config["interval"]),
        stripe_price=str(config["stripe_price"]),
        storage_bytes=int(config["storage_bytes"]),
    )


def price(cents: int) -> str:
    """ "$29.00" (the one currency configured)."""
    symbol = "$" if settings.SECUREMAIL_CURRENCY.lower() == "usd" else ""
    suffix = "" if symbol else f" {settings.SECUREMAIL_CURRENCY.upper()}"
    return f"{symbol}{cents / 100:,.2f}{suffix}"
