"""StripeProcessor against a Stripe API on loopback: localstripe for customers, payment
methods, subscriptions and invoices; the test's own minimal Checkout and Billing Portal
endpoints for what localstripe lacks (stripe_api.py). What the processor sends (idempotency
keys, opaque ids only) and how it reads Stripe's answers back into the product's words."""

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from securemail.billing.plans import plan
from securemail.billing.processors import processor, signing
from securemail.billing.processors.base import (
    BadSignature,
    ProcessorUnavailable,
    UnknownObject,
)
from securemail.billing.tests.conftest import point_stripe_at
from securemail.billing.tests.stripe_api import (
    MONTHLY_PRICE,
    WEBHOOK_SECRET,
    StripeApi,
    StripeSide,
    StripeSideError,
    event,
)
from tests.support import free_port

pytestmark = [pytest.mark.usefixtures("use_stripe")]


def _checkout(reference: str = "", customer: str | None = None) -> Any:
    customer = customer or processor().create_customer(
        account_id=str(uuid.uuid4()), idempotency_key=f"customer-{uuid.uuid4()}"
    )
    return processor().start_checkout(
        customer_id=customer,
        plan=plan("monthly"),
        reference=reference or str(uuid.uuid4()),
        success_url="https://securemail.test/billing/return/?checkout={CHECKOUT_SESSION_ID}",
        cancel_url="https://securemail.test/billing/",
        idempotency_key=f"checkout-{uuid.uuid4()}",
    )


def _subscribed(stripe_side: StripeSide, reference: str = "") -> tuple[str, Any]:
    """A paid checkout: (the reference given, the session as Stripe shows it)."""
    reference = reference or str(uuid.uuid4())
    session = stripe_side.pay_checkout(_checkout(reference).id)
    return reference, session


def test_a_customer_carries_only_our_account_id_and_the_idempotency_key(
    stripe_api: StripeApi, stripe_side: StripeSide
) -> None:
    account_id = str(uuid.uuid4())

    customer_id = processor().create_customer(
        account_id=account_id, idempotency_key=f"customer-{account_id}"
    )

    [sent] = stripe_api.made("POST", "/v1/customers")
    assert sent.idempotency_key == f"customer-{account_id}"
    assert sent.form == {"metadata[securemail_account]": account_id}
    customer = stripe_side.get(f"/v1/customers/{customer_id}")
    assert customer["metadata"] == {"securemail_account": account_id}
    assert (customer["name"], customer["email"], customer["phone"]) == (None, None, None)


def test_the_same_idempotency_key_gives_the_same_customer(stripe_api: StripeApi) -> None:
    # As Stripe replays the first answer to a key (the loopback API does the same).
    account_id = str(uuid.uuid4())

    first = processor().create_customer(account_id=account_id, idempotency_key="customer-x1")
    again = processor().create_customer(account_id=account_id, idempotency_key="customer-x1")

    assert first == again
    assert {r.idempotency_key for r in stripe_api.made("POST", "/v1/customers")} == {"customer-x1"}


def test_a_checkout_subscribes_to_the_plans_price_with_our_reference_only(
    stripe_api: StripeApi,
) -> None:
    reference = str(uuid.uuid4())

    session = _checkout(reference)

    [sent] = stripe_api.made("POST", "/v1/checkout/sessions")
    assert sent.idempotency_key
    assert sent.idempotency_key.startswith("checkout-")
    form = sent.form
    assert form["mode"] == "subscription"
    assert form["line_items[0][price]"] == MONTHLY_PRICE
    assert form["line_items[0][quantity]"] == "1"
    assert form["client_reference_id"] == reference
    assert form["subscription_data[metadata][securemail_plan]"] == reference
    assert form["success_url"].endswith("?checkout={CHECKOUT_SESSION_ID}")
    assert session.url.startswith("https://checkout.stripe.com/")
    state = processor().get_checkout(session.id)
    assert (state.complete, state.subscription_id, state.invoice_id) == (False, "", "")
    assert state.reference == reference


@pytest.mark.parametrize("with_invoice", [True, False])
def test_a_paid_checkout_names_its_subscription_and_first_invoice(
    stripe_side: StripeSide, with_invoice: bool
) -> None:
    reference = str(uuid.uuid4())
    session = stripe_side.pay_checkout(_checkout(reference).id, with_invoice=with_invoice)

    state = processor().get_checkout(session["id"])

    subscription = stripe_side.get(f"/v1/subscriptions/{session['subscription']}")
    assert state.complete
    assert state.subscription_id == subscription["id"]
    # Without the session's own `invoice`, the subscription's latest (first) one.
    assert state.invoice_id == subscription["latest_invoice"]
    assert state.reference == reference


def test_an_active_subscription_reads_as_paid_with_its_card_and_period(
    stripe_side: StripeSide,
) -> None:
    reference, session = _subscribed(stripe_side)
    raw = stripe_side.get(f"/v1/subscriptions/{session['subscription']}")

    state = processor().get_subscription(session["subscription"])

    assert state.reference == reference
    assert (state.active, state.payment_failed, state.ended) == (True, False, False)
    assert state.cancel_at_period_end is False
    assert state.current_period_end == datetime.fromtimestamp(raw["current_period_end"], tz=UTC)
    assert state.card is not None
    assert (state.card.brand, state.card.last4) == ("Visa", "4242")
    assert (state.card.exp_month, state.card.exp_year) == (12, 2034)


def test_a_declined_renewal_reads_as_payment_failed(stripe_side: StripeSide) -> None:
    _, session = _subscribed(stripe_side)

    declined = stripe_side.decline_next_charge(session["subscription"])
    state = processor().get_subscription(session["subscription"])

    assert declined["status"] == "past_due"
    assert (state.active, state.payment_failed, state.ended) == (False, True, False)
    assert state.card is not None
    assert state.card.last4 == "0341"
    invoice = processor().get_invoice(declined["latest_invoice"])
    assert invoice.paid is False
    assert invoice.subscription_id == session["subscription"]


def test_a_card_stripe_declines_can_not_be_saved(stripe_side: StripeSide) -> None:
    customer = processor().create_customer(account_id="a", idempotency_key=str(uuid.uuid4()))

    with pytest.raises(StripeSideError) as declined:
        stripe_side.card(customer, "4000000000000002")

    assert declined.value.status == 402


def test_cancel_at_period_end_keeps_the_plan_until_then(
    stripe_api: StripeApi, stripe_side: StripeSide
) -> None:
    _, session = _subscribed(stripe_side)

    processor().cancel_at_period_end(session["subscription"], idempotency_key="cancel-abc")

    [sent] = stripe_api.made("POST", f"/v1/subscriptions/{session['subscription']}")
    assert sent.idempotency_key == "cancel-abc"
    assert sent.form == {"cancel_at_period_end": "true"}
    state = processor().get_subscription(session["subscription"])
    assert (state.active, state.cancel_at_period_end, state.ended) == (True, True, False)


def test_a_canceled_subscription_reads_as_ended(stripe_side: StripeSide) -> None:
    _, session = _subscribed(stripe_side)

    stripe_side.cancel(session["subscription"])
    state = processor().get_subscription(session["subscription"])

    assert (state.active, state.payment_failed, state.ended) == (False, False, True)


def test_an_invoice_reads_as_paid_with_its_amount_period_and_subscription(
    stripe_side: StripeSide,
) -> None:
    _, session = _subscribed(stripe_side)
    raw = stripe_side.get(f"/v1/invoices/{session['invoice']}")

    invoice = processor().get_invoice(session["invoice"])

    assert invoice.id == session["invoice"]
    assert invoice.subscription_id == session["subscription"]
    assert invoice.paid is True
    assert (invoice.amount_cents, invoice.currency) == (2900, "usd")
    period = raw["lines"]["data"][0]["period"]
    assert invoice.period_start == datetime.fromtimestamp(period["start"], tz=UTC)
    assert invoice.period_end == datetime.fromtimestamp(period["end"], tz=UTC)
    # localstripe numbers no invoices: the id stands in.
    assert invoice.number == (raw.get("number") or raw["id"])


def test_the_card_page_is_the_portals_payment_method_update_flow(
    stripe_api: StripeApi,
) -> None:
    customer = processor().create_customer(account_id="a", idempotency_key=str(uuid.uuid4()))

    url = processor().card_update_url(customer_id=customer, return_url="https://sm.test/billing/")

    assert url.startswith("https://billing.stripe.com/p/session/")
    [sent] = stripe_api.made("POST", "/v1/billing_portal/sessions")
    assert sent.form == {
        "customer": customer,
        "return_url": "https://sm.test/billing/",
        "flow_data[type]": "payment_method_update",
        "configuration": "bpc_securemail_card_only",
    }


@pytest.mark.parametrize(
    ("read", "object_id"),
    [
        ("get_subscription", "sub_nosuchthing"),
        ("get_invoice", "in_nosuchthing"),
        ("get_checkout", "cs_test_nosuchthing"),
        ("get_subscription", ""),
        ("get_invoice", ""),
    ],
)
def test_an_object_stripe_does_not_have_is_unknown_not_unavailable(
    read: str, object_id: str
) -> None:
    with pytest.raises(UnknownObject):
        getattr(processor(), read)(object_id)


def test_stripe_unreachable_is_processor_unavailable(settings: Any) -> None:
    point_stripe_at(settings, f"http://127.0.0.1:{free_port()}")

    with pytest.raises(ProcessorUnavailable):
        processor().create_customer(account_id="a", idempotency_key="k")
    with pytest.raises(ProcessorUnavailable):
        processor().get_subscription("sub_123")


def test_stripe_failing_is_processor_unavailable(stripe_api: StripeApi) -> None:
    stripe_api.fail("POST", "/v1/customers")

    with pytest.raises(ProcessorUnavailable):
        processor().create_customer(account_id="a", idempotency_key="customer-k")

    # The client's own retries carry the same key.
    keys = [r.idempotency_key for r in stripe_api.made("POST", "/v1/customers")]
    assert len(keys) == 3
    assert set(keys) == {"customer-k"}


def test_a_request_stripe_refuses_is_processor_unavailable(stripe_api: StripeApi) -> None:
    # A misconfigured price, say: nothing was bought, and the buyer is told so.
    stripe_api.fail("POST", "/v1/checkout/sessions", status=400)

    with pytest.raises(ProcessorUnavailable):
        _checkout()

    assert len(stripe_api.made("POST", "/v1/checkout/sessions")) == 1


def test_ending_a_subscription_now_cancels_it_with_its_key(
    stripe_api: StripeApi, stripe_side: StripeSide
) -> None:
    _, session = _subscribed(stripe_side)

    processor().end_now(session["subscription"], idempotency_key="end-abc")
    # One Stripe no longer has is over already.
    processor().end_now("sub_gone", idempotency_key="end-def")

    assert stripe_side.get(f"/v1/subscriptions/{session['subscription']}")["status"] == ("canceled")
    [sent] = stripe_api.made("DELETE", f"/v1/subscriptions/{session['subscription']}")
    assert sent.idempotency_key == "end-abc"


def test_renewing_with_stripe_only_reads_what_stripe_did(
    stripe_api: StripeApi, stripe_side: StripeSide
) -> None:
    _, session = _subscribed(stripe_side)
    stripe_api.reset()

    state = processor().renew(session["subscription"])

    assert state.active
    assert [r.method for r in stripe_api.requests] == ["GET"]


# --- webhooks: the signature over the raw body ------------------------------------------


def test_a_signed_event_is_read_as_what_it_is_about() -> None:
    payload = event("invoice.paid", {"id": "in_123", "object": "invoice"}, event_id="evt_1")

    parsed = processor().parse_webhook(payload, signing.sign(payload, WEBHOOK_SECRET))

    assert (parsed.id, parsed.type, parsed.object_id, parsed.object_kind) == (
        "evt_1",
        "invoice.paid",
        "in_123",
        "invoice",
    )


@pytest.mark.parametrize(
    "signature",
    [
        "",
        "t=1,v1=00",
        "garbage",
        "sign with another secret",
        "sign a body with one more space",
        "sign ten minutes ago",
    ],
)
def test_a_webhook_that_does_not_verify_is_refused(signature: str) -> None:
    payload = event("invoice.paid", {"id": "in_123", "object": "invoice"})
    if signature == "sign with another secret":
        signature = signing.sign(payload, "whsec_someone_else")
    elif signature == "sign a body with one more space":
        signature = signing.sign(payload + b" ", WEBHOOK_SECRET)
    elif signature == "sign ten minutes ago":
        signature = signing.sign(payload, WEBHOOK_SECRET, at=int(time.time()) - 600)

    with pytest.raises(BadSignature):
        processor().parse_webhook(payload, signature)


@pytest.mark.parametrize("body", [b"[]", b'"event"', b"{}", b"not json", b"\xff\xfe"])
def test_a_signed_body_that_is_not_an_event_is_refused(body: bytes) -> None:
    with pytest.raises(BadSignature):
        processor().parse_webhook(body, signing.sign(body, WEBHOOK_SECRET))


def test_an_event_about_something_we_dont_act_on_has_no_kind() -> None:
    payload = json.dumps(
        {"id": "evt_2", "object": "event", "type": "customer.created", "data": {"object": {}}}
    ).encode()

    parsed = processor().parse_webhook(payload, signing.sign(payload, WEBHOOK_SECRET))

    assert (parsed.type, parsed.object_kind, parsed.object_id) == ("customer.created", "", "")
