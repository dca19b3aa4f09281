"""What billing's reads and writes raise; views choose the page and status."""

from django.core.exceptions import PermissionDenied

from securemail.billing.processors.base import BadSignature, ProcessorUnavailable

# What a page says when the card processor can't be reached.
PROCESSOR_UNAVAILABLE_MESSAGE = (
    "The card processor can't be reached right now. Nothing was charged: try again in a few "
    "minutes."
)

__all__ = [
    "PROCESSOR_UNAVAILABLE_MESSAGE",
    "AlreadyPaid",
    "BadSignature",
    "BillingError",
    "NoPlanForThisAccount",
    "NotTheBuyer",
    "ProcessorUnavailable",
    "TooManyPurchases",
]


class BillingError(Exception):
    """Something the person can act on; `str(error)` says what."""


class AlreadyPaid(BillingError):
    pass


class TooManyPurchases(BillingError):
    """The purchase limit refused it (the page answers 429)."""


class NoPlanForThisAccount(PermissionDenied):
    """Patients' accounts (and accounts outside a practice) are always free."""


class NotTheBuyer(PermissionDenied):
    """Only whoever bought a plan (or the practice's user manager) may change it."""
