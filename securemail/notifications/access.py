"""Reads of what delivery learnt about addresses (for the services that send)."""

from collections.abc import Iterable

from securemail.notifications.models import BouncedAddress


def bounced_addresses(emails: Iterable[str]) -> dict[str, BouncedAddress]:
    """The addresses among `emails` (already normalized) whose mail bounced, by address."""
    wanted = list(emails)
    if not wanted:
        return {}
    return {b.email: b for b in BouncedAddress.objects.filter(email__in=wanted)}
