"""Renewal (SPEC §5): a due plan renews and a receipt goes out; a failed renewal makes the
account free at once, says so on every page with Buy Now, and emails the buyer; updating the
card alone does not bring the plan back, buying again does. The job is safe with several
workers."""

import threading
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from securemail.accounts.models import User
from securemail.audit.models import AuditEvent
from securemail.billing import services
from securemail.billing.models import Invoice, LocalInvoice, LocalSubscription, Subscription
from securemail.billing.processors.local import LocalProcessor
from securemail.billing.tests.helpers import GOOD_CARD, buy
from securemail.notifications.models import NotificationKind, OutboxEmail
from tests.support import path_of

pytestmark = pytest.mark.django_db

BANNER = "The latest payment did not succeed."


@pytest.fixture
def paid(login: Any, free_staff: User, django_capture_on_commit_callbacks: Any) -> Any:
    """free_staff, who bought a monthly plan with a good card (events delivered)."""
    client = login(free_staff)
    with django_capture_on_commit_callbacks(execute=True):
        buy(client, "monthly")
    return client


def _renew_at(moment: Any, capture: Any) -> int:
    with time_machine.travel(moment, tick=False), capture(execute=True):
        return services.renew_due_plans()


def test_a_due_plan_renews_for_another_period_with_a_receipt(
    paid: Any, free_staff: User, django_capture_on_commit_callbacks: Any
) -> None:
    sub = Subscription.objects.get(member=free_staff)
    first_end = sub.current_period_end
    assert first_end is not None

    assert _renew_at(first_end + timedelta(minutes=1), django_capture_on_commit_callbacks) == 1

    sub.refresh_from_db()
    assert sub.status == "active"
    assert sub.current_period_end is not None
    assert sub.current_period_end > first_end
    assert Invoice.objects.filter(status="paid").count() == 2
    assert OutboxEmail.objects.filter(kind=NotificationKind.RECEIPT).count() == 2
    assert AuditEvent.objects.filter(event="billing:plan:renew").count() == 1
    free_staff.refresh_from_db()
    assert free_staff.plan == User.Plan.PAID


def test_nothing_renews_before_its_time(paid: Any, django_capture_on_commit_callbacks: Any) -> None:
    assert _renew_at(timezone.now() + timedelta(days=29), django_capture_on_commit_callbacks) == 0
    assert LocalInvoice.objects.count() == 1


def test_a_failed_renewal_makes_the_account_free_at_once_and_says_so_everywhere(
    paid: Any, free_staff: User, django_capture_on_commit_callbacks: Any
) -> None:
    sub = Subscription.objects.get(member=free_staff)
    LocalProcessor().fail_next_renewal(sub.processor_subscription_id)
    assert sub.current_period_end is not None

    _renew_at(sub.current_period_end + timedelta(minutes=1), django_capture_on_commit_callbacks)

    sub.refresh_from_db()
    assert (sub.status, sub.end_reason) == ("ended", "payment_failed")
    free_staff.refresh_from_db()
    assert free_staff.plan == User.Plan.FREE
    inbox = paid.get("/")
    assert BANNER in inbox.content.decode()
    assert "Buy Now" in inbox.content.decode()
    assert paid.get("/compose/").status_code == 403
    [email] = OutboxEmail.objects.filter(kind=NotificationKind.PAYMENT_FAILED)
    assert email.to_email == free_staff.email
    assert Invoice.objects.filter(status="failed").count() == 1
    assert AuditEvent.objects.filter(event="billing:plan:payment_failed").exists()


def test_updating_the_card_alone_does_not_bring_the_plan_back_buying_again_does(
    paid: Any, free_staff: User, django_capture_on_commit_callbacks: Any
) -> None:
    sub = Subscription.objects.get(member=free_staff)
    LocalProcessor().fail_next_renewal(sub.processor_subscription_id)
    assert sub.current_period_end is not None
    _renew_at(sub.current_period_end + timedelta(minutes=1), django_capture_on_commit_callbacks)

    # The card page of the processor (Stripe's Billing Portal in production).
    card_page = paid.post(f"/billing/plans/{sub.pk}/card/")
    assert card_page.status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        saved = paid.post(
            path_of(card_page["Location"]),
            {"number": "5555 5555 5555 4444", "expiry": "11/33", "cvc": "321"},
        )
    assert saved.status_code == 302
    free_staff.refresh_from_db()
    assert free_staff.plan == User.Plan.FREE
    assert BANNER in paid.get("/").content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        page = buy(paid, "monthly", GOOD_CARD)

    assert "Thank you: your paid plan is active." in page.content.decode()
    assert BANNER not in page.content.decode()
    free_staff.refresh_from_db()
    assert free_staff.plan == User.Plan.PAID


def test_a_plan_whose_card_expired_fails_at_renewal(
    paid: Any, free_staff: User, django_capture_on_commit_callbacks: Any
) -> None:
    sub = Subscription.objects.get(member=free_staff)
    LocalSubscription.objects.filter(pk=sub.processor_subscription_id).update(
        card_exp_month=1, card_exp_year=2020
    )
    assert sub.current_period_end is not None

    _renew_at(sub.current_period_end + timedelta(minutes=1), django_capture_on_commit_callbacks)

    sub.refresh_from_db()
    assert sub.end_reason == "payment_failed"


@pytest.mark.django_db(transaction=True)
def test_several_workers_renew_each_plan_once(make_user: Any, practice: Any) -> None:
    people = [make_user(f"staff{n}@brightsmiles.test", practice=practice) for n in range(4)]
    local = LocalProcessor()
    for person in people:
        started = services.start_own_purchase(member=person, plan_code="monthly")
        checkout_id = started.url.rstrip("/").rsplit("/", 1)[-1]
        from securemail.billing.processors.local import TestCard

        local.pay(checkout_id, TestCard(number=GOOD_CARD, exp_month=12, exp_year=2034, cvc="123"))
        services.confirm_checkout(actor=person, checkout_id=checkout_id)
    due = timezone.now() + timedelta(days=31)
    counts: list[int] = []

    def worker() -> None:
        try:
            with time_machine.travel(due, tick=False):
                counts.append(services.renew_due_plans())
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sum(counts) == 4
    # One renewal invoice per plan (plus the first payments): none charged twice.
    assert LocalInvoice.objects.count() == 8
