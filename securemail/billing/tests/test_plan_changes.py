"""After buying: cancelling (only the buyer, here; it runs to the end of the paid period),
the invoices page and "email me this list", the card-expiry reminder, and the test
processor's own webhook path (signed, each event once)."""

import json
from datetime import date, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from securemail.accounts.models import User
from securemail.audit.models import AuditEvent
from securemail.billing import services
from securemail.billing.models import ProcessorEvent, Subscription
from securemail.billing.processors import signing
from securemail.billing.processors.local import webhook_secret
from securemail.billing.tests.helpers import buy
from securemail.notifications.models import NotificationKind, OutboxEmail
from securemail.notifications.services import _payload

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(login: Any, free_staff: User, django_capture_on_commit_callbacks: Any) -> Any:
    client = login(free_staff)
    with django_capture_on_commit_callbacks(execute=True):
        buy(client, "monthly")
    return client


def test_the_buyer_cancels_and_the_plan_runs_to_the_end_of_its_period(
    paid: Any, free_staff: User, django_capture_on_commit_callbacks: Any
) -> None:
    sub = Subscription.objects.get(member=free_staff)
    assert sub.current_period_end is not None

    response = paid.post(f"/billing/plans/{sub.pk}/cancel/")

    assert response.status_code == 302
    sub.refresh_from_db()
    assert sub.cancel_at_period_end
    assert sub.canceled_by == free_staff
    free_staff.refresh_from_db()
    assert free_staff.plan == User.Plan.PAID
    assert "Ends on" in paid.get("/billing/").content.decode()
    assert AuditEvent.objects.filter(event="billing:plan:cancel", actor=free_staff).exists()

    with (
        time_machine.travel(sub.current_period_end + timedelta(minutes=1), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.renew_due_plans()

    sub.refresh_from_db()
    assert (sub.status, sub.end_reason) == ("ended", "canceled")
    free_staff.refresh_from_db()
    assert free_staff.plan == User.Plan.FREE
    assert "The latest payment did not succeed." not in paid.get("/").content.decode()


def test_nobody_else_can_cancel_or_change_the_card(
    paid: Any, free_staff: User, login: Any, staff: User, other_doctor: User
) -> None:
    sub = Subscription.objects.get(member=free_staff)

    for person in (staff, other_doctor):
        client = login(person)
        assert client.post(f"/billing/plans/{sub.pk}/cancel/").status_code == 404
        assert client.post(f"/billing/plans/{sub.pk}/card/").status_code == 404
    sub.refresh_from_db()
    assert not sub.cancel_at_period_end


def test_the_invoices_page_lists_each_payment_and_can_be_emailed(
    paid: Any, free_staff: User
) -> None:
    page = paid.get("/billing/invoices/").content.decode()

    assert "TEST-" in page
    assert "$29.00" in page
    assert "SecureMail Pro, monthly for Fran Free" in page

    sent = paid.post("/billing/invoices/email/")

    assert sent.status_code == 302
    [email] = OutboxEmail.objects.filter(kind=NotificationKind.INVOICE_LIST)
    assert email.to_email == free_staff.email
    body = _payload(email)
    assert "$29.00" in body["text"]
    assert "$29.00" in body["html"]


def test_other_peoples_invoices_are_not_listed(paid: Any, login: Any, staff: User) -> None:
    assert "TEST-" not in login(staff).get("/billing/invoices/").content.decode()


def test_the_buyer_is_reminded_once_a_month_before_the_card_expires(
    paid: Any, free_staff: User
) -> None:
    sub = Subscription.objects.get(member=free_staff)
    Subscription.objects.filter(pk=sub.pk).update(card_exp_month=2, card_exp_year=2027)

    assert services.send_card_reminders(today=date(2026, 12, 15)) == 0
    assert services.send_card_reminders(today=date(2027, 1, 3)) == 1
    assert services.send_card_reminders(today=date(2027, 1, 20)) == 0

    [email] = OutboxEmail.objects.filter(kind=NotificationKind.CARD_EXPIRING)
    assert email.to_email == free_staff.email
    assert "Visa ending in 4242" in _payload(email)["text"]


def _event(event_id: str, object_id: str, kind: str = "subscription") -> bytes:
    return json.dumps(
        {
            "id": event_id,
            "type": "customer.subscription.updated",
            "data": {"object": {"id": object_id, "object": kind}},
        }
    ).encode()


def test_a_webhook_with_a_bad_signature_is_refused_and_changes_nothing(paid: Any) -> None:
    sub = Subscription.objects.get()
    payload = _event("levt_forged", sub.processor_subscription_id)

    for signature in ("", "t=1,v1=00", signing.sign(payload, "not the secret")):
        response = Client().post(
            "/billing/webhook/stripe/",
            payload,
            content_type="application/json",
            headers={"Stripe-Signature": signature},
        )
        assert response.status_code == 400
    assert not ProcessorEvent.objects.filter(event_id="levt_forged").exists()


def test_a_replayed_event_is_handled_once(paid: Any) -> None:
    sub = Subscription.objects.get()
    payload = _event("levt_once", sub.processor_subscription_id)
    signature = signing.sign(payload, webhook_secret())

    answers = [
        Client().post(
            "/billing/webhook/stripe/",
            payload,
            content_type="application/json",
            headers={"Stripe-Signature": signature},
        )
        for _ in range(2)
    ]

    assert [a.status_code for a in answers] == [200, 200]
    assert [a.json()["handled"] for a in answers] == [True, False]
    assert ProcessorEvent.objects.filter(event_id="levt_once").count() == 1


def test_an_event_about_something_unknown_is_recorded_and_ignored(paid: Any) -> None:
    payload = _event("levt_unknown", "lsub_nobody_knows")
    signature = signing.sign(payload, webhook_secret())

    response = Client().post(
        "/billing/webhook/stripe/",
        payload,
        content_type="application/json",
        headers={"Stripe-Signature": signature},
    )

    assert response.status_code == 200
    assert ProcessorEvent.objects.filter(event_id="levt_unknown").exists()
    assert Subscription.objects.get().status == "active"


def test_an_abandoned_checkout_is_closed_after_a_day(login: Any, free_staff: User) -> None:
    login(free_staff).post("/billing/buy/", {"plan": "monthly"})

    assert services.abandon_stale_checkouts(now=timezone.now() + timedelta(hours=23)) == 0
    assert services.abandon_stale_checkouts(now=timezone.now() + timedelta(hours=25)) == 1
    sub = Subscription.objects.get()
    assert (sub.status, sub.end_reason) == ("ended", "abandoned")
