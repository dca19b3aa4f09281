"""POST /billing/webhook/stripe/ with PAYMENT_PROCESSOR=stripe: payloads signed as Stripe
signs them (t=…,v1=HMAC-SHA256 over "t.raw body"), the state read back from a Stripe API on
loopback (localstripe, and the test's own Checkout endpoints). Each event id takes effect
once; events about things we don't know are recorded and ignored; order doesn't matter,
because every event only says *what* to read again."""

import json
import threading
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from securemail.accounts.models import User
from securemail.audit.events import Event
from securemail.audit.models import AuditEvent
from securemail.billing.models import Invoice, ProcessorEvent, Subscription
from securemail.billing.processors import signing
from securemail.billing.services import events as event_service
from securemail.billing.tests.conftest import point_stripe_at
from securemail.billing.tests.helpers import (
    post_webhook,
    return_from_checkout,
    start_stripe_purchase,
)
from securemail.billing.tests.stripe_api import StripeApi, StripeSide, event
from securemail.notifications.models import NotificationKind, OutboxEmail
from tests.support import free_port

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("use_stripe")]


def _paid_at_stripe(login: Any, buyer: User, stripe_side: StripeSide, **pay: Any) -> Any:
    """Buy now, and pay on Stripe's page; nothing has told SecureMail yet. The session."""
    checkout_id = start_stripe_purchase(login(buyer))
    return stripe_side.pay_checkout(checkout_id, **pay)


def _completed(session: dict[str, Any], **kw: Any) -> bytes:
    return event("checkout.session.completed", session, **kw)


def _invoice_paid(stripe_side: StripeSide, invoice_id: str) -> bytes:
    return event("invoice.paid", stripe_side.get(f"/v1/invoices/{invoice_id}"))


def _receipts() -> int:
    return OutboxEmail.objects.filter(kind=NotificationKind.RECEIPT).count()


def _audited(kind: Event) -> int:
    return AuditEvent.objects.filter(event=kind).count()


def _nothing_bought(buyer: User) -> None:
    buyer.refresh_from_db()
    assert buyer.plan == User.Plan.FREE
    assert not Subscription.objects.filter(member=buyer, status="active").exists()
    assert not Invoice.objects.exists()
    assert _receipts() == 0
    assert _audited(Event.PLAN_ACTIVATED) == 0


def test_a_completed_checkout_makes_the_member_paid(
    client: Client, login: Any, buyer: User, stripe_side: StripeSide
) -> None:
    session = _paid_at_stripe(login, buyer, stripe_side)

    response = post_webhook(Client(), _completed(session, event_id="evt_good"))

    assert response.status_code == 200
    assert response.json() == {"received": "evt_good", "handled": True}
    buyer.refresh_from_db()
    assert buyer.plan == User.Plan.PAID
    sub = Subscription.objects.get(member=buyer)
    assert sub.status == Subscription.Status.ACTIVE
    assert sub.processor_subscription_id == session["subscription"]
    assert sub.card == "Visa ending in 4242"
    assert sub.current_period_end is not None
    [activated] = AuditEvent.objects.filter(event=Event.PLAN_ACTIVATED)
    assert activated.target == f"plan:{sub.pk}"
    [invoice] = Invoice.objects.all()
    assert (invoice.processor_invoice_id, invoice.amount_cents) == (session["invoice"], 2900)
    assert _receipts() == 1
    assert ProcessorEvent.objects.filter(event_id="evt_good").exists()


@pytest.mark.parametrize(
    "signature",
    ["another secret", "another body", "too old", "none", "not the scheme"],
)
def test_a_webhook_with_a_bad_signature_is_refused_and_changes_nothing(
    login: Any, buyer: User, stripe_side: StripeSide, stripe_api: StripeApi, signature: str
) -> None:
    payload = _completed(_paid_at_stripe(login, buyer, stripe_side))
    header = {
        "another secret": signing.sign(payload, "whsec_not_ours"),
        "another body": signing.sign(payload.replace(b'"complete"', b'"open"'), "whsec_x"),
        "too old": signing.sign(payload, "whsec_securemail_contract_tests", at=1_700_000_000),
        "none": "",
        "not the scheme": signing.sign(payload, "whsec_securemail_contract_tests").replace(
            "v1=", "v0="
        ),
    }[signature]
    stripe_api.reset()

    client = Client()
    response = client.post(
        "/billing/webhook/stripe/",
        payload,
        content_type="application/json",
        headers={"stripe-signature": header} if header else {},
    )

    assert response.status_code == 400
    assert not ProcessorEvent.objects.exists()
    _nothing_bought(buyer)
    assert Subscription.objects.get(member=buyer).status == Subscription.Status.PENDING
    # Nothing was even read from Stripe for it.
    assert stripe_api.requests == []


def test_a_replayed_event_is_handled_once(
    login: Any, buyer: User, stripe_side: StripeSide, stripe_api: StripeApi
) -> None:
    session = _paid_at_stripe(login, buyer, stripe_side)
    payload = _completed(session, event_id="evt_twice")
    assert post_webhook(Client(), payload).json()["handled"] is True
    # Whatever Stripe says now, the same event id does nothing again.
    stripe_side.cancel(session["subscription"])
    stripe_api.reset()

    again = post_webhook(Client(), payload)

    assert again.status_code == 200
    assert again.json() == {"received": "evt_twice", "handled": False}
    assert stripe_api.requests == []
    assert Subscription.objects.get(member=buyer).status == Subscription.Status.ACTIVE
    assert ProcessorEvent.objects.filter(event_id="evt_twice").count() == 1
    assert _audited(Event.PLAN_ACTIVATED) == 1
    assert _receipts() == 1


def _someone_elses_subscription(stripe_side: StripeSide, metadata: dict[str, str]) -> Any:
    customer = stripe_side.call("POST", "/v1/customers", {})
    stripe_side.card(customer["id"])
    return stripe_side.call(
        "POST",
        "/v1/subscriptions",
        {
            "customer": customer["id"],
            "items": [{"plan": "price_securemail_monthly"}],
            "metadata": metadata,
        },
    )


@pytest.mark.parametrize(
    "about",
    [
        "another system's customer",
        "a plan reference we never made",
        "a reference that is no id",
        "a subscription Stripe doesn't have",
        "a checkout Stripe doesn't have",
        "an invoice of no subscription",
        "a kind we don't act on",
    ],
)
def test_an_event_about_something_we_dont_know_is_recorded_and_changes_nothing(
    login: Any, buyer: User, stripe_side: StripeSide, stripe_api: StripeApi, about: str
) -> None:
    # A purchase of ours is under way (pending): the event must not touch it either.
    session = _paid_at_stripe(login, buyer, stripe_side)
    if about == "another system's customer":
        sub = _someone_elses_subscription(stripe_side, {})
        payload = event("customer.subscription.updated", sub)
    elif about == "a plan reference we never made":
        sub = _someone_elses_subscription(
            stripe_side, {"securemail_plan": "2b4e0b35-5e0f-4c5b-9a51-63a1d0f3c0de"}
        )
        payload = event("customer.subscription.updated", sub)
    elif about == "a reference that is no id":
        sub = _someone_elses_subscription(stripe_side, {"securemail_plan": "'; DROP"})
        payload = event("invoice.paid", stripe_side.get(f"/v1/invoices/{sub['latest_invoice']}"))
    elif about == "a subscription Stripe doesn't have":
        payload = event(
            "customer.subscription.deleted", {"id": "sub_gone", "object": "subscription"}
        )
    elif about == "a checkout Stripe doesn't have":
        payload = event(
            "checkout.session.completed", {"id": "cs_test_gone", "object": "checkout.session"}
        )
    elif about == "an invoice of no subscription":
        # A one-off invoice of our customer (made in Stripe's dashboard, say). localstripe
        # makes none: the loopback API serves it, as the reference documents an invoice.
        one_off = {
            "id": "in_oneoff",
            "object": "invoice",
            "customer": session["customer"],
            "parent": None,
            "status": "paid",
            "amount_due": 500,
            "amount_paid": 500,
            "currency": "usd",
            "created": 1_790_000_000,
            "lines": {"object": "list", "data": []},
        }
        stripe_api.objects["/v1/invoices/in_oneoff"] = one_off
        payload = event("invoice.paid", one_off)
    else:
        payload = event("customer.updated", {"id": session["customer"], "object": "customer"})
    event_id = json.loads(payload)["id"]

    response = post_webhook(Client(), payload)

    assert response.status_code == 200
    assert response.json() == {"received": event_id, "handled": True}
    assert ProcessorEvent.objects.filter(event_id=event_id).exists()
    _nothing_bought(buyer)
    assert Subscription.objects.get(member=buyer).status == Subscription.Status.PENDING


@pytest.mark.parametrize("first", ["events", "browser"])
def test_events_and_the_browser_coming_back_make_one_plan_one_invoice_one_receipt(
    login: Any, buyer: User, stripe_side: StripeSide, first: str
) -> None:
    session = _paid_at_stripe(login, buyer, stripe_side)
    client = login(buyer)
    webhooks = [_completed(session), _invoice_paid(stripe_side, session["invoice"])]

    if first == "browser":
        back = return_from_checkout(client, session["id"])
    for payload in webhooks:
        assert post_webhook(Client(), payload).status_code == 200
    if first == "events":
        back = return_from_checkout(client, session["id"])

    assert back.status_code == 302
    page = client.get(back["Location"])
    assert "Thank you: your paid plan is active." in page.content.decode()
    assert "Visa ending in 4242" in page.content.decode()
    [sub] = Subscription.objects.filter(member=buyer)
    assert sub.status == Subscription.Status.ACTIVE
    assert Invoice.objects.count() == 1
    assert _receipts() == 1
    assert _audited(Event.PLAN_ACTIVATED) == 1
    buyer.refresh_from_db()
    assert buyer.plan == User.Plan.PAID


def test_the_browser_back_before_the_session_names_its_invoice_still_records_it(
    login: Any, buyer: User, stripe_side: StripeSide
) -> None:
    session = _paid_at_stripe(login, buyer, stripe_side, with_invoice=False)

    return_from_checkout(login(buyer), session["id"])

    [invoice] = Invoice.objects.all()
    assert invoice.status == Invoice.Status.PAID
    assert _receipts() == 1


def test_an_invoice_paid_before_the_checkout_completed_event_comes_to_the_same(
    login: Any, buyer: User, stripe_side: StripeSide
) -> None:
    session = _paid_at_stripe(login, buyer, stripe_side)

    post_webhook(Client(), _invoice_paid(stripe_side, session["invoice"]))
    buyer.refresh_from_db()
    assert buyer.plan == User.Plan.PAID
    post_webhook(Client(), _completed(session))
    return_from_checkout(login(buyer), session["id"])

    assert Subscription.objects.get(member=buyer).status == Subscription.Status.ACTIVE
    assert Invoice.objects.count() == 1
    assert _receipts() == 1
    assert _audited(Event.PLAN_ACTIVATED) == 1


@pytest.mark.parametrize("stale_arrives", ["after the cancellation", "before its event"])
def test_a_stale_active_subscription_event_does_not_revive_a_cancelled_plan(
    login: Any, buyer: User, stripe_side: StripeSide, stale_arrives: str
) -> None:
    session = _paid_at_stripe(login, buyer, stripe_side)
    post_webhook(Client(), _completed(session))
    active_snapshot = stripe_side.get(f"/v1/subscriptions/{session['subscription']}")
    assert active_snapshot["status"] == "active"
    canceled = stripe_side.cancel(session["subscription"])
    deleted = event("customer.subscription.deleted", canceled)
    stale = event("customer.subscription.updated", active_snapshot)

    order = [deleted, stale] if stale_arrives == "after the cancellation" else [stale, deleted]
    for payload in order:
        assert post_webhook(Client(), payload).status_code == 200

    sub = Subscription.objects.get(member=buyer)
    assert (sub.status, sub.end_reason) == ("ended", Subscription.EndReason.CANCELED)
    buyer.refresh_from_db()
    assert buyer.plan == User.Plan.FREE
    assert _audited(Event.PLAN_ENDED) == 1


def test_a_declined_renewal_makes_the_account_free_at_once_and_ends_it_at_stripe(
    login: Any, buyer: User, stripe_side: StripeSide, stripe_api: StripeApi
) -> None:
    session = _paid_at_stripe(login, buyer, stripe_side)
    post_webhook(Client(), _completed(session))

    declined = stripe_side.decline_next_charge(session["subscription"])
    failed_invoice = stripe_side.get(f"/v1/invoices/{declined['latest_invoice']}")
    response = post_webhook(Client(), event("invoice.payment_failed", failed_invoice))

    assert response.status_code == 200
    sub = Subscription.objects.get(member=buyer)
    assert (sub.status, sub.end_reason) == ("ended", Subscription.EndReason.PAYMENT_FAILED)
    buyer.refresh_from_db()
    assert buyer.plan == User.Plan.FREE
    failed = Invoice.objects.get(processor_invoice_id=failed_invoice["id"])
    assert failed.status == Invoice.Status.FAILED
    assert OutboxEmail.objects.filter(kind=NotificationKind.PAYMENT_FAILED).count() == 1
    assert _receipts() == 1
    page = login(buyer).get("/billing/").content.decode()
    assert "Buy now" in page
    # Stripe would go on retrying the charge for days: its subscription is over too.
    assert stripe_side.get(f"/v1/subscriptions/{session['subscription']}")["status"] == ("canceled")
    [ended] = stripe_api.made("DELETE", f"/v1/subscriptions/{session['subscription']}")
    assert ended.idempotency_key == f"end-{sub.pk}"


def test_a_paid_renewal_records_its_invoice_and_sends_one_more_receipt(
    login: Any, buyer: User, stripe_side: StripeSide
) -> None:
    session = _paid_at_stripe(login, buyer, stripe_side)
    post_webhook(Client(), _completed(session))
    renewal = stripe_side.call(
        "POST",
        "/v1/invoices",
        {"customer": session["customer"], "subscription": session["subscription"]},
    )
    stripe_side.call("POST", f"/v1/invoices/{renewal['id']}/pay")

    payload = _invoice_paid(stripe_side, renewal["id"])
    post_webhook(Client(), payload)
    post_webhook(Client(), payload.replace(b'"evt_', b'"evt_again_'))

    assert Invoice.objects.filter(status=Invoice.Status.PAID).count() == 2
    assert _receipts() == 2
    assert _audited(Event.PLAN_RENEWED) == 1
    buyer.refresh_from_db()
    assert buyer.plan == User.Plan.PAID


def test_while_stripe_is_unreachable_the_webhook_answers_503_so_stripe_retries(
    settings: Any, login: Any, buyer: User, stripe_side: StripeSide, stripe_api: StripeApi
) -> None:
    payload = _completed(_paid_at_stripe(login, buyer, stripe_side), event_id="evt_later")
    point_stripe_at(settings, f"http://127.0.0.1:{free_port()}")

    refused = post_webhook(Client(), payload)

    assert refused.status_code == 503
    assert not ProcessorEvent.objects.exists()
    _nothing_bought(buyer)

    point_stripe_at(settings, stripe_api.url)
    retried = post_webhook(Client(), payload)

    assert retried.json() == {"received": "evt_later", "handled": True}
    buyer.refresh_from_db()
    assert buyer.plan == User.Plan.PAID


@pytest.mark.django_db(transaction=True)
def test_two_identical_webhooks_at_once_take_effect_once(
    login: Any, buyer: User, stripe_side: StripeSide, monkeypatch: Any
) -> None:
    session = _paid_at_stripe(login, buyer, stripe_side)
    payload = _completed(session, event_id="evt_at_once")
    # Both requests have read Stripe's state before either writes: the race is certain.
    both_read = threading.Barrier(2, timeout=20)
    read = event_service._read

    def read_then_wait(webhook_event: Any) -> Any:
        effect = read(webhook_event)
        both_read.wait()
        return effect

    monkeypatch.setattr(event_service, "_read", read_then_wait)
    answers: list[Any] = []

    def deliver() -> None:
        # Each thread: its own database connection, as two web workers have.
        try:
            answers.append(post_webhook(Client(), payload))
        except Exception as error:
            answers.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert [getattr(a, "status_code", a) for a in answers] == [200, 200]
    assert sorted(a.json()["handled"] for a in answers) == [False, True]
    assert ProcessorEvent.objects.filter(event_id="evt_at_once").count() == 1
    assert Subscription.objects.get(member=buyer).status == Subscription.Status.ACTIVE
    assert Invoice.objects.count() == 1
    assert _receipts() == 1
    assert _audited(Event.PLAN_ACTIVATED) == 1
