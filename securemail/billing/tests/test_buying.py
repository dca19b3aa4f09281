"""Buying a plan with the test processor (SPEC §5): a good card makes the account paid at
once, a declined card says why and buys nothing, patients and outsiders can't buy, the same
purchase twice is charged once, and one receipt is sent per payment."""

from typing import Any

import pytest
from django.test import Client

from securemail.accounts.models import User
from securemail.audit.models import AuditEvent
from securemail.billing import entitlements
from securemail.billing.entitlements import Feature
from securemail.billing.models import Invoice, LocalInvoice, Subscription
from securemail.billing.tests.helpers import (
    DECLINED_CARD,
    NO_FUNDS_CARD,
    buy,
    pay,
    start_buying,
)
from securemail.notifications.models import NotificationKind, OutboxEmail
from tests.support import path_of

pytestmark = pytest.mark.django_db


def test_a_free_staff_member_buys_a_monthly_plan_and_can_compose_at_once(
    login: Any, free_staff: User
) -> None:
    client = login(free_staff)
    assert client.get("/compose/").status_code == 403

    page = buy(client, "monthly")

    assert "Thank you: your paid plan is active." in page.content.decode()
    assert "Visa ending in 4242" in page.content.decode()
    free_staff.refresh_from_db()
    assert free_staff.plan == User.Plan.PAID
    assert entitlements.allows(free_staff, Feature.START_CONVERSATION)
    assert client.get("/compose/").status_code == 200
    sub = Subscription.objects.get(member=free_staff)
    assert (sub.status, sub.buyer, sub.plan) == ("active", free_staff, "monthly")
    assert sub.account.practice == free_staff.practice
    [invoice] = Invoice.objects.all()
    assert invoice.amount_cents == 2900
    assert invoice.status == Invoice.Status.PAID
    assert AuditEvent.objects.filter(event="billing:plan:purchase", actor=free_staff).exists()
    assert AuditEvent.objects.filter(event="billing:plan:activate").exists()


def test_one_receipt_per_payment_however_often_the_state_is_read(
    login: Any, free_staff: User, django_capture_on_commit_callbacks: Any
) -> None:
    client = login(free_staff)
    # With the processor's events delivered too (they arrive before the browser returns).
    with django_capture_on_commit_callbacks(execute=True):
        buy(client, "annual")
    client.get("/billing/")

    receipts = OutboxEmail.objects.filter(kind=NotificationKind.RECEIPT)
    assert receipts.count() == 1
    assert receipts.get().to_email == free_staff.email
    assert Invoice.objects.get().amount_cents == 29000


def test_a_declined_card_says_why_and_buys_nothing(login: Any, free_staff: User) -> None:
    client = login(free_staff)
    card_page = start_buying(client)["Location"]

    for number, reason in [
        (DECLINED_CARD, "Your card was declined."),
        (NO_FUNDS_CARD, "Your card has insufficient funds."),
        ("4242 4242 4242 4241", "This card number is not valid"),
    ]:
        refused = pay(client, card_page, number)
        assert refused.status_code in {400, 402}
        assert reason in refused.content.decode()
    expired = pay(client, card_page, expiry="01/20")

    assert "This card has expired" in expired.content.decode()
    free_staff.refresh_from_db()
    assert free_staff.plan == User.Plan.FREE
    assert not LocalInvoice.objects.exists()
    assert Subscription.objects.get(member=free_staff).status == "pending"


def test_buying_twice_reuses_the_same_card_page_and_charges_once(
    login: Any, free_staff: User
) -> None:
    client = login(free_staff)

    first = start_buying(client)
    second = start_buying(client)

    assert first["Location"] == second["Location"]
    pay(client, first["Location"])
    again = pay(client, first["Location"])
    assert again.status_code == 302
    assert LocalInvoice.objects.count() == 1
    assert Subscription.objects.filter(member=free_staff).count() == 1


def test_someone_already_paid_is_told_so(login: Any, free_staff: User) -> None:
    client = login(free_staff)
    buy(client)

    refused = start_buying(client, "annual")

    assert refused.status_code == 409
    assert "already has a paid plan" in refused.content.decode()


@pytest.mark.parametrize("persona", ["patient", "outsider"])
def test_patients_see_no_buy_button_and_the_server_refuses(
    persona: str, request: Any, login: Any
) -> None:
    client = login(request.getfixturevalue(persona))

    page = client.get("/billing/")
    refused = start_buying(client)

    assert "Buy now" not in page.content.decode()
    assert "always free" in page.content.decode()
    assert refused.status_code == 403
    assert not Subscription.objects.exists()


def test_a_bad_plan_is_a_clear_400(login: Any, free_staff: User) -> None:
    response = login(free_staff).post("/billing/buy/", {"plan": "lifetime"})

    assert response.status_code == 400
    assert "Choose a plan." in response.content.decode()
    assert not Subscription.objects.exists()


def test_anonymous_visitors_are_sent_to_log_in() -> None:
    client = Client()

    for response in (client.get("/billing/"), client.post("/billing/buy/", {"plan": "monthly"})):
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_the_card_page_of_an_unknown_checkout_is_a_404(login: Any, free_staff: User) -> None:
    assert login(free_staff).get("/billing/test-processor/checkout/lcs_nope/").status_code == 404


def test_coming_back_with_someone_elses_checkout_changes_nothing(
    login: Any, free_staff: User, make_user: Any, practice: Any
) -> None:
    other = make_user("ola.other@brightsmiles.test", practice=practice)
    card_page = start_buying(login(free_staff))["Location"]
    pay(Client(), card_page)
    checkout_id = path_of(card_page).rstrip("/").rsplit("/", 1)[-1]

    response = login(other).get(f"/billing/return/?checkout={checkout_id}")

    assert response.status_code == 404
    other.refresh_from_db()
    assert other.plan == User.Plan.FREE


def test_the_receipt_says_what_was_paid_in_both_parts_and_nothing_else(
    login: Any, free_staff: User
) -> None:
    from securemail.notifications.services import _payload

    buy(login(free_staff), "annual")

    [receipt] = OutboxEmail.objects.filter(kind=NotificationKind.RECEIPT)
    content = _payload(receipt)
    number = Invoice.objects.get().number
    for part in (content["text"], content["html"]):
        assert number in part
        assert "$290.00" in part
        assert "SecureMail Pro, annual for Fran Free" in part
    assert "Your SecureMail receipt" in content["subject"]
    # No card number, not even its last four digits beyond the brand line of the page.
    assert "4242 4242" not in content["text"] + content["html"]
