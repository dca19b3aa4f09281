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


# --- Stripe (PAYMENT_PROCESSOR=stripe, the API on loopback: conftest's use_stripe) ---------


def post_webhook(client: Client, payload: bytes, *, signature: str | None = None) -> Any:
    """POST a webhook to the Stripe endpoint, signed as Stripe signs it (unless given)."""
    from securemail.billing.processors import signing
    from securemail.billing.tests.stripe_api import WEBHOOK_SECRET

    return client.post(
        "/billing/webhook/stripe/",
        payload,
        content_type="application/json",
        headers={"stripe-signature": signature or signing.sign(payload, WEBHOOK_SECRET)},
    )


def checkout_id_of(checkout_url: str) -> str:
    """cs_test_… from the hosted Checkout page's address."""
    return checkout_url.rstrip("/").rsplit("/", 1)[-1]


def return_from_checkout(client: Client, checkout_id: str) -> Any:
    """The buyer's browser back on the success URL (Stripe fills in the session's id)."""
    return client.get(f"/billing/return/?checkout={checkout_id}")


def no_person_in(requests: list[Any]) -> None:
    """Assert that no request body, path or query names anyone SecureMail knows: no full
    name (nor any part of one), no email address, no practice name."""
    from urllib.parse import unquote_plus

    from securemail.accounts.models import Practice, User

    words: set[str] = set()
    for user in User.objects.all():
        words.add(user.email.lower())
        words.update(part.lower() for part in user.full_name.split() if len(part) > 2)
        words.add(user.email.split("@")[0].lower())
    for practice in Practice.objects.all():
        words.add(practice.name.lower())
        words.update(part.lower() for part in practice.name.split() if len(part) > 4)
    assert requests
    for request in requests:
        sent = unquote_plus(f"{request.path}?{request.query}&{request.body.decode()}").lower()
        found = sorted(word for word in words if word in sent)
        assert not found, f"{request.method} {request.path} sent {found}"


def start_stripe_purchase(client: Client, plan: str = "monthly") -> str:
    """POST Buy now with Stripe configured: off to the hosted Checkout page. Returns the
    checkout's id."""
    started = client.post("/billing/buy/", {"plan": plan})
    assert started.status_code == 302, started.content.decode()[:500]
    assert started["Location"].startswith("https://checkout.stripe.com/"), started["Location"]
    return checkout_id_of(started["Location"])
