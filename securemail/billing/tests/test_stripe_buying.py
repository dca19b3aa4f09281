"""Buying, cancelling and changing the card through the pages with PAYMENT_PROCESSOR=stripe:
every create call carries an idempotency key stored before the call, a retry sends the same
key, Stripe unreachable is a clear 503 with nothing half-bought, and nothing but opaque ids
reaches Stripe (the personas' names and addresses are markers, searched for in every request
the loopback Stripe API received)."""

from typing import Any

import pytest
from django.test import Client
from django.utils.html import escape

from securemail.accounts.models import User
from securemail.billing import services
from securemail.billing.models import BillingAccount, Subscription
from securemail.billing.processors import processor
from securemail.billing.tests.conftest import point_stripe_at
from securemail.billing.tests.helpers import (
    checkout_id_of,
    no_person_in,
    post_webhook,
    return_from_checkout,
    start_stripe_purchase,
)
from securemail.billing.tests.stripe_api import StripeApi, StripeSide, event
from securemail.billing.views.plans import UNAVAILABLE
from tests.support import free_port

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("use_stripe")]


def _active_plan(login: Any, buyer: User, stripe_side: StripeSide) -> Subscription:
    checkout_id = start_stripe_purchase(login(buyer))
    session = stripe_side.pay_checkout(checkout_id)
    post_webhook(Client(), event("checkout.session.completed", session))
    return Subscription.objects.get(member=buyer, status="active")


def test_buying_goes_to_checkout_and_back_to_a_paid_plan_with_only_opaque_ids_sent(
    login: Any, buyer: User, stripe_api: StripeApi, stripe_side: StripeSide
) -> None:
    client = login(buyer)

    checkout_id = start_stripe_purchase(client, "annual")
    stripe_side.pay_checkout(checkout_id)
    back = return_from_checkout(client, checkout_id)
    page = client.get(back["Location"]).content.decode()

    assert "Thank you: your paid plan is active." in page
    buyer.refresh_from_db()
    assert buyer.plan == User.Plan.PAID
    sub = Subscription.objects.get(member=buyer)
    account = BillingAccount.objects.get(practice=buyer.practice)
    assert (sub.plan, sub.checkout_id, account.processor) == ("annual", checkout_id, "stripe")
    [created] = stripe_api.made("POST", "/v1/customers")
    assert created.form == {"metadata[securemail_account]": str(account.pk)}
    [checkout] = stripe_api.made("POST", "/v1/checkout/sessions")
    assert checkout.form["customer"] == account.customer_id
    assert checkout.form["client_reference_id"] == str(sub.pk)
    assert checkout.form["line_items[0][price]"] == "price_securemail_annual"
    no_person_in(stripe_api.requests)


def test_a_user_manager_buying_for_a_member_sends_no_name_either(
    buyer: User, marker_manager: User, stripe_api: StripeApi, stripe_side: StripeSide
) -> None:
    started = services.start_purchase_for_member(
        manager=marker_manager, member=buyer, plan_code="monthly"
    )
    stripe_side.pay_checkout(checkout_id_of(started.url))
    services.confirm_checkout(actor=marker_manager, checkout_id=started.subscription.checkout_id)

    assert Subscription.objects.get(member=buyer).status == Subscription.Status.ACTIVE
    no_person_in(stripe_api.requests)


def test_every_create_call_carries_the_key_stored_before_it(
    login: Any, buyer: User, stripe_api: StripeApi, stripe_side: StripeSide, monkeypatch: Any
) -> None:
    stripe = processor()
    seen: list[str] = []

    def stored_first(name: str, check: Any) -> None:
        original = getattr(stripe, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            # At the moment of the call, the key is already in the database.
            check(kwargs["idempotency_key"])
            seen.append(name)
            return original(*args, **kwargs)

        monkeypatch.setattr(stripe, name, call)

    def customer_key(key: str) -> None:
        assert BillingAccount.objects.filter(pk=key.removeprefix("customer-")).exists()

    def checkout_key(key: str) -> None:
        assert Subscription.objects.filter(
            idempotency_key=key.removeprefix("checkout-"), status="pending"
        ).exists()

    def cancel_key(key: str) -> None:
        assert Subscription.objects.filter(pk=key.removeprefix("cancel-"), status="active")

    stored_first("create_customer", customer_key)
    stored_first("start_checkout", checkout_key)
    stored_first("cancel_at_period_end", cancel_key)
    sub = _active_plan(login, buyer, stripe_side)

    cancelled = login(buyer).post(f"/billing/plans/{sub.pk}/cancel/")

    assert cancelled.status_code == 302
    assert seen == ["create_customer", "start_checkout", "cancel_at_period_end"]
    account = BillingAccount.objects.get()
    sent = {
        "customer": stripe_api.made("POST", "/v1/customers"),
        "checkout": stripe_api.made("POST", "/v1/checkout/sessions"),
        "cancel": stripe_api.made("POST", f"/v1/subscriptions/{sub.processor_subscription_id}"),
    }
    assert [r.idempotency_key for r in sent["customer"]] == [f"customer-{account.pk}"]
    assert [r.idempotency_key for r in sent["checkout"]] == [f"checkout-{sub.idempotency_key}"]
    assert [r.idempotency_key for r in sent["cancel"]] == [f"cancel-{sub.pk}"]


def test_cancelling_runs_to_the_end_of_the_period_then_the_plan_ends(
    login: Any, buyer: User, stripe_side: StripeSide
) -> None:
    sub = _active_plan(login, buyer, stripe_side)

    login(buyer).post(f"/billing/plans/{sub.pk}/cancel/")
    at_stripe = stripe_side.get(f"/v1/subscriptions/{sub.processor_subscription_id}")
    post_webhook(Client(), event("customer.subscription.updated", at_stripe))

    sub.refresh_from_db()
    assert at_stripe["cancel_at_period_end"] is True
    assert (sub.status, sub.cancel_at_period_end, sub.canceled_by) == ("active", True, buyer)
    buyer.refresh_from_db()
    assert buyer.plan == User.Plan.PAID

    # The period is over: Stripe ends the subscription and says so.
    ended = stripe_side.cancel(sub.processor_subscription_id)
    post_webhook(Client(), event("customer.subscription.deleted", ended))

    sub.refresh_from_db()
    assert (sub.status, sub.end_reason) == ("ended", "canceled")
    buyer.refresh_from_db()
    assert buyer.plan == User.Plan.FREE


def test_updating_the_card_opens_the_portal_and_the_new_card_shows_after_its_event(
    login: Any, buyer: User, stripe_api: StripeApi, stripe_side: StripeSide
) -> None:
    sub = _active_plan(login, buyer, stripe_side)

    opened = login(buyer).post(f"/billing/plans/{sub.pk}/card/")

    assert opened.status_code == 302
    assert opened["Location"].startswith("https://billing.stripe.com/p/session/")
    [portal] = stripe_api.made("POST", "/v1/billing_portal/sessions")
    assert portal.form["flow_data[type]"] == "payment_method_update"
    assert portal.form["customer"] == sub.account.customer_id
    # On the portal, the buyer saves another card: the customer's default.
    stripe_side.card(sub.account.customer_id, "4012888888881881")
    at_stripe = stripe_side.get(f"/v1/subscriptions/{sub.processor_subscription_id}")
    post_webhook(Client(), event("customer.subscription.updated", at_stripe))

    sub.refresh_from_db()
    assert sub.card == "Visa ending in 1881"
    no_person_in(stripe_api.requests)


def test_stripe_unreachable_is_a_clear_503_and_nothing_half_bought(
    settings: Any, login: Any, buyer: User, stripe_api: StripeApi, stripe_side: StripeSide
) -> None:
    point_stripe_at(settings, f"http://127.0.0.1:{free_port()}")
    client = login(buyer)

    refused = client.post("/billing/buy/", {"plan": "monthly"})

    assert refused.status_code == 503
    assert escape(UNAVAILABLE) in refused.content.decode()
    buyer.refresh_from_db()
    assert buyer.plan == User.Plan.FREE
    pending = Subscription.objects.get(member=buyer)
    assert (pending.status, pending.checkout_id, pending.checkout_url) == ("pending", "", "")
    key = pending.idempotency_key
    assert BillingAccount.objects.get().customer_id == ""

    # Stripe is back: the same purchase goes on, with the same keys.
    point_stripe_at(settings, stripe_api.url)
    checkout_id = start_stripe_purchase(client)

    [sub] = Subscription.objects.filter(member=buyer)
    assert (sub.pk, sub.idempotency_key, sub.checkout_id) == (pending.pk, key, checkout_id)
    stripe_side.pay_checkout(checkout_id)
    return_from_checkout(client, checkout_id)
    sub.refresh_from_db()
    assert sub.status == Subscription.Status.ACTIVE


@pytest.mark.parametrize("failing", ["/v1/customers", "/v1/checkout/sessions"])
def test_a_retried_purchase_sends_the_same_idempotency_key(
    login: Any, buyer: User, stripe_api: StripeApi, failing: str
) -> None:
    client = login(buyer)
    stripe_api.fail("POST", failing)

    refused = client.post("/billing/buy/", {"plan": "monthly"})

    assert refused.status_code == 503
    assert escape(UNAVAILABLE) in refused.content.decode()
    assert Subscription.objects.get(member=buyer).checkout_id == ""
    stripe_api.heal()

    start_stripe_purchase(client)

    sub = Subscription.objects.get(member=buyer)
    expected = {
        "/v1/customers": f"customer-{sub.account_id}",
        "/v1/checkout/sessions": f"checkout-{sub.idempotency_key}",
    }[failing]
    keys = [r.idempotency_key for r in stripe_api.made("POST", failing)]
    # Three tries of the client (its own retries) on the first click, one on the second.
    assert len(keys) == 4
    assert set(keys) == {expected}
    assert len(stripe_api.made("POST", "/v1/checkout/sessions")) >= 1
    assert len(stripe_api.checkouts) == 1


def test_buying_twice_opens_the_same_checkout_and_creates_nothing_more(
    login: Any, buyer: User, stripe_api: StripeApi
) -> None:
    client = login(buyer)

    first = start_stripe_purchase(client)
    second = start_stripe_purchase(client)

    assert first == second
    assert len(stripe_api.made("POST", "/v1/checkout/sessions")) == 1
    assert len(stripe_api.made("POST", "/v1/customers")) == 1


def test_cancelling_while_stripe_is_unreachable_says_so_and_keeps_the_plan(
    settings: Any, login: Any, buyer: User, stripe_side: StripeSide
) -> None:
    sub = _active_plan(login, buyer, stripe_side)
    point_stripe_at(settings, f"http://127.0.0.1:{free_port()}")

    refused = login(buyer).post(f"/billing/plans/{sub.pk}/cancel/")

    assert refused.status_code == 503
    assert escape(UNAVAILABLE) in refused.content.decode()
    sub.refresh_from_db()
    assert (sub.status, sub.cancel_at_period_end) == ("active", False)


def test_coming_back_while_stripe_is_unreachable_says_so(
    settings: Any, login: Any, buyer: User, stripe_side: StripeSide
) -> None:
    client = login(buyer)
    checkout_id = start_stripe_purchase(client)
    stripe_side.pay_checkout(checkout_id)
    point_stripe_at(settings, f"http://127.0.0.1:{free_port()}")

    back = return_from_checkout(client, checkout_id)

    assert back.status_code == 503
    assert escape(UNAVAILABLE) in back.content.decode()
    assert Subscription.objects.get(member=buyer).status == Subscription.Status.PENDING


def test_coming_back_from_a_checkout_stripe_no_longer_has_waits_for_the_payment(
    login: Any, buyer: User, stripe_api: StripeApi
) -> None:
    client = login(buyer)
    checkout_id = start_stripe_purchase(client)
    # Expired and gone at Stripe (or made with other keys).
    del stripe_api.checkouts[checkout_id]

    back = return_from_checkout(client, checkout_id)

    assert back.status_code == 302
    page = client.get(back["Location"]).content.decode()
    assert "The payment isn&#x27;t confirmed yet." in page
    assert Subscription.objects.get(member=buyer).status == Subscription.Status.PENDING


def test_the_card_page_while_stripe_is_unreachable_says_so(
    settings: Any, login: Any, buyer: User, stripe_side: StripeSide
) -> None:
    sub = _active_plan(login, buyer, stripe_side)
    point_stripe_at(settings, f"http://127.0.0.1:{free_port()}")

    refused = login(buyer).post(f"/billing/plans/{sub.pk}/card/")

    assert refused.status_code == 503
    assert escape(UNAVAILABLE) in refused.content.decode()


def test_a_customer_stripe_no_longer_has_is_replaced_and_the_purchase_goes_on(
    login: Any, buyer: User, stripe_api: StripeApi, stripe_side: StripeSide
) -> None:
    # A first purchase made the account's customer; then it was deleted at Stripe.
    _active_plan(login, buyer, stripe_side)
    account = BillingAccount.objects.get(practice=buyer.practice)
    Subscription.objects.filter(member=buyer).update(status="ended", end_reason="canceled")
    User.objects.filter(pk=buyer.pk).update(plan=User.Plan.FREE)
    BillingAccount.objects.filter(pk=account.pk).update(customer_id="cus_deleted_at_stripe")

    started = login(buyer).post("/billing/buy/", {"plan": "monthly"})

    assert started.status_code == 302
    account.refresh_from_db()
    assert account.customer_id not in {"", "cus_deleted_at_stripe"}
    keys = [r.idempotency_key for r in stripe_api.made("POST", "/v1/customers")]
    assert len(keys) == 2
    assert len(set(keys)) == 2
