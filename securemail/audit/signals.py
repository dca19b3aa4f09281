"""Audit entries for what Django itself does, not a service of ours: logging out.

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
