"""The worker's billing jobs, safe with several workers: each takes one plan row at a time
with SELECT … FOR UPDATE SKIP LOCKED, so two workers never work on the same plan.

- renew_due_plans: plans whose paid period has ended are renewed (or not) by the
  processor: Stripe renews on its own and we read the result; the test processor charges
  now. A failed renewal makes the account free at once (services.state).
- send_card_reminders: a month before the card a plan renews with expires, its buyer is
  reminded, once per card.
- abandon_stale_checkouts: a checkout left unpaid past its card page's life is closed.
"""

import logging
import uuid
from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from securemail.billing import emails
from securemail.billing.models import Subscription
from securemail.billing.processors import ProcessorUnavailable, processor
from securemail.billing.services.purchases import CHECKOUT_HOURS
from securemail.billing.services.state import apply_subscription, stop_retries

logger = logging.getLogger(__name__)


def renew_due_plans(*, limit: int = 100) -> int:
    """Renew (or end) every active plan whose period has ended. Returns how many."""
    done = 0
    skip: list[uuid.UUID] = []
    while done < limit:
        with transaction.atomic():
            sub = (
                Subscription.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(status=Subscription.Status.ACTIVE, current_period_end__lte=timezone.now())
                .exclude(pk__in=skip)
                .order_by("current_period_end")
                .first()
            )
            if sub is None:
                return done
            try:
                # Held under the row's lock only (other workers skip it): a Stripe renewal is
                # one read, the test processor's a few rows.
                state = processor().renew(sub.processor_subscription_id)
                stop_retries(sub, state)
            except ProcessorUnavailable:
                logger.warning("billing: renewal of %s postponed, processor unavailable", sub)
                skip.append(sub.pk)
                continue
            apply_subscription(sub.pk, state)
            if (
                state.active
                and state.current_period_end
                and state.current_period_end <= (timezone.now())
            ):
                # The processor has not renewed it yet (Stripe may take a while): next pass.
                skip.append(sub.pk)
        done += 1
    return done


def send_card_reminders(*, today: date | None = None) -> int:
    """Remind buyers whose card expires at the end of next month (the last month it can
    pay a renewal). Returns how many reminders were queued."""
    today = today or timezone.now().date()
    next_month = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    label = f"{next_month.year:04d}-{next_month.month:02d}"
    sent = 0
    while True:
        with transaction.atomic():
            sub = (
                Subscription.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("buyer", "member")
                .filter(
                    status=Subscription.Status.ACTIVE,
                    cancel_at_period_end=False,
                    card_exp_year=next_month.year,
                    card_exp_month=next_month.month,
                )
                .exclude(card_reminder_sent_for=label)
                .first()
            )
            if sub is None:
                return sent
            sub.card_reminder_sent_for = label
            sub.save(update_fields=["card_reminder_sent_for"])
            emails.queue_card_expiring(subscription=sub, to=sub.buyer or sub.member)
            sent += 1


def abandon_stale_checkouts(*, now: datetime | None = None) -> int:
    """Close purchases whose card page was never paid (its life is over)."""
    cutoff = (now or timezone.now()) - timedelta(hours=CHECKOUT_HOURS + 1)
    return Subscription.objects.filter(
        status=Subscription.Status.PENDING, created_at__lt=cutoff
    ).update(
        status=Subscription.Status.ENDED,
        end_reason=Subscription.EndReason.ABANDONED,
        ended_at=timezone.now(),
    )
