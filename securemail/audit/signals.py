"""Audit entries for what Django itself does, not a service of ours: logging out; and for
what an app the audit log may not import tells through core.signals: the outbox giving up.

Every way out ends in `django.contrib.auth.logout` (the logout button, the console's,
a registration or set-password link opened while someone else is logged in), and it sends
`user_logged_out`: recording it here audits them all, and keeps the views as they are.
"""

from typing import Any

from securemail.audit import services as audit
from securemail.audit.events import Event


def record_logout(*, user: Any, **_signal: Any) -> None:
    """A logged-in person logged out (an anonymous logout has nobody to record)."""
    if user is None or not getattr(user, "pk", None):
        return
    audit.record(Event.LOGGED_OUT, actor_id=user.pk, practice_id=getattr(user, "practice_id", None))


def record_delivery_given_up(
    *,
    outbox_id: str,
    channel: str,
    kind: str,
    outcome: str,
    attempts: int,
    recipient_user_id: int | None,
    **_signal: Any,
) -> None:
    """The outbox gave up on an email or text (core.signals.delivery_given_up), inside its
    transaction: ids and states only, never the address."""
    audit.record(
        Event.NOTIFICATION_BOUNCED if outcome == "bounced" else Event.NOTIFICATION_NOT_DELIVERED,
        actor_id=None,
        target=f"outbox:{outbox_id}",
        data={
            "channel": channel,
            "kind": kind,
            "attempts": attempts,
            "recipient": recipient_user_id,
        },
    )
