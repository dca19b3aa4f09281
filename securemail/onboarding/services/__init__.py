"""The only writers of invitations, registration progress and verification codes, one
module per flow:

- `invitations`: invite (messaging, while sending), starting the registration, fresh links
  (also the practice's user manager's re-sent and restarted invitations, and an
  operator's re-send);
- `wizard`: saving the wizard's steps;
- `codes`: sending and checking verification codes;
- `finishing`: completing the registration;
- `reminders`: the reminders of a waiting invitation (the worker's job) and stopping them.

Every function runs in one transaction and follows one order: check the link or state,
check rate limits, write, audit, queue notifications. Reads of invitations and the wizard's
progress are in onboarding.access; what both raise is in onboarding.errors.
"""

from securemail.onboarding.services.codes import check_code, send_code
from securemail.onboarding.services.finishing import complete_registration
from securemail.onboarding.services.invitations import (
    invite,
    record_link_shown,
    renew_link,
    request_fresh_link,
    request_fresh_link_for,
    resend_as_operator,
    restart_invitation,
    spend_join_link,
    start_registration,
)
from securemail.onboarding.services.reminders import send_due_reminders, stop_reminders
from securemail.onboarding.services.wizard import (
    save_practice_step,
    save_specialty_step,
    save_you_step,
)

__all__ = [
    "check_code",
    "complete_registration",
    "invite",
    "record_link_shown",
    "renew_link",
    "request_fresh_link",
    "request_fresh_link_for",
    "resend_as_operator",
    "restart_invitation",
    "save_practice_step",
    "save_specialty_step",
    "save_you_step",
    "send_code",
    "send_due_reminders",
    "spend_join_link",
    "start_registration",
    "stop_reminders",
]
