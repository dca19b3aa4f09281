"""The worker's billing jobs with PAYMENT_PROCESSOR=stripe: Stripe renews on its own, the
job reads what it did (a renewed period, or a declined charge that makes the plan free);
card reminders lock the plan row alone (PostgreSQL refuses a lock over the buyer's join)."""

from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from securemail.accounts.models import User
from securemail.billing.models import Subscription
from securemail.billing.services import renew_due_plans, send_card_reminders
from securemail.billing.tests.conftest import point_stripe_at
from securemail.billing.tests.helpers import post_webhook, start_stripe_purchase
from securemail.billing.tests.stripe_api import StripeSide, event
from securemail.notifications.models import NotificationKind, OutboxEmail
from tests.support import free_port

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("use_stripe")]


def _due_plan(login: Any, buyer: User, stripe_side: StripeSide) -> Subscription:
    """A paid plan whose period, as SecureMail last heard, has just ended."""
    session = stripe_side.pay_checkout(start_stripe_purchase(login(buyer)))
    post_webhook(Client(), event("checkout.session.completed", session))
    sub = Subscription.objects.get(member=buyer, status="active")
    Subscription.objects.filter(pk=sub.pk).update(
        current_period_end=timezone.now() - timedelta(minutes=1)
    )
    return sub


def test_a_plan_stripe_renewed_runs_on_to_its_new_period_end(
    login: Any, buyer: User, stripe_side: StripeSide
) -> None:
    sub = _due_plan(login, buyer, stripe_side)

    assert renew_due_plans() == 1

    sub.refresh_from_db()
    assert sub.status == Subscription.Status.ACTIVE
    assert sub.current_period_end is not None
    assert sub.current_period_end > timezone.now()
    assert renew_due_plans() == 0


def test_a_renewal_stripe_could_not_charge_makes_the_plan_free(
    login: Any, buyer: User, stripe_side: StripeSide
) -> None:
    sub = _due_plan(login, buyer, stripe_side)
    stripe_side.decline_next_charge(sub.processor_subscription_id)

    assert renew_due_plans() == 1

    sub.refresh_from_db()
    assert (sub.status, sub.end_reason) == ("ended", Subscription.EndReason.PAYMENT_FAILED)
    buyer.refresh_from_db()
    assert buyer.plan == User.Plan.FREE


def test_renewals_wait_while_stripe_is_unreachable(
    settings: Any, login: Any, buyer: User, stripe_side: StripeSide
) -> None:
    sub = _due_plan(login, buyer, stripe_side)
    point_stripe_at(settings, f"http://127.0.0.1:{free_port()}")

    assert renew_due_plans() == 0

    sub.refresh_from_db()
    assert sub.status == Subscription.Status.ACTIVE


def test_the_buyer_is_reminded_once_before_the_card_expires(
    login: Any, buyer: User, stripe_side: StripeSide
) -> None:
    _due_plan(login, buyer, stripe_side)

    # The card (12/2034) pays its last renewal in December 2034.
    assert send_card_reminders(today=date(2034, 11, 5)) == 1
    assert send_card_reminders(today=date(2034, 11, 6)) == 0

    [reminder] = OutboxEmail.objects.filter(kind=NotificationKind.CARD_EXPIRING)
    assert reminder.to_email == buyer.email
