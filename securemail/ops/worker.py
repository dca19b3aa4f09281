"""The background worker: delivers the outbox and runs the periodic jobs."""

import logging
import threading
import time

from django.db import close_old_connections

from securemail.accounts import services as accounts
from securemail.billing import services as billing
from securemail.contacts import services as contacts
from securemail.core import shred
from securemail.messaging import services as messaging
from securemail.messaging.services import expire_due_messages, expire_old_drafts, warn_of_expiry
from securemail.notifications.services import deliver_due

logger = logging.getLogger(__name__)
PERIODIC_SECONDS = 60


def periodic() -> None:
    """Warn both sides of conversations deleted in a few days; expire due messages, then
    destroy the shredding keys of days that have ended; remind invitees who haven't
    registered; renew due plans, remind of expiring cards, close checkouts never paid;
    delete set-password links long expired; remove deleted contacts past their restore
    time."""
    warn_of_expiry()
    expire_due_messages()
    expire_old_drafts()
    shred.advance()
    messaging.remind_invitees()
    billing.renew_due_plans()
    billing.send_card_reminders()
    billing.abandon_stale_checkouts()
    sweep_upload_leftovers()
    accounts.sweep_password_links()
    contacts.purge_deleted()


def sweep_upload_leftovers() -> int:
    """Delete the uploads of requests that died before they were answered (see
    messaging's sweep_abandoned_uploads). Each minute looks at the 256th of the store whose
    names start with that minute's two hex digits: a pass stays cheap, and the whole store
    is looked at every 256 minutes."""
    prefix = f"{int(time.time() // 60) % 256:02x}"
    return messaging.sweep_abandoned_uploads(prefix=prefix)


def run_once() -> int:
    """One pass: deliver what is due, then the periodic jobs. Returns emails sent."""
    sent = deliver_due()
    periodic()
    return sent


def run_forever(stop: threading.Event, *, interval: float = 1.0) -> None:
    last_periodic = 0.0
    while not stop.is_set():
        close_old_connections()
        try:
            deliver_due()
            if time.monotonic() - last_periodic >= PERIODIC_SECONDS:
                periodic()
                last_periodic = time.monotonic()
        except Exception:
            # Keep the worker alive through a database hiccup; the next pass retries.
            logger.exception("worker: pass failed")
        stop.wait(interval)
