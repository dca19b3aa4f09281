"""Buying through the pages, as a person does, with the built-in test processor."""

from typing import Any

from django.test import Client

from tests.support import path_of

GOOD_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0002"
NO_FUNDS_CARD = "4000 0000 0000 9995"


def start_buying(client: Client, plan: str = "monthly") -> Any:
    """POST Buy now; the answer redirects to the processor's card page."""
    return client.post("/billing/buy/", {"plan": plan})


def pay(
    client: Client,
    card_page: str,
    number: str = GOOD_CARD,
    expiry: str = "12/34",
    cvc: str = "123",
) -> Any:
    return client.post(path_of(card_page), {"number": number, "expiry": expiry, "cvc": cvc})


def buy(client: Client, plan: str = "monthly", number: str = GOOD_CARD) -> Any:
    """The whole purchase: Buy now, the card page, back to SecureMail. Returns the last
    answer (the plan page after the return's redirect)."""
    started = start_buying(client, plan)
    assert started.status_code == 302, started
    paid = pay(client, started["Location"], number)
    assert paid.status_code == 302, paid.content.decode()[:500]
    returned = client.get(path_of(paid["Location"]))
    assert returned.status_code == 302, returned
    return client.get(returned["Location"])
