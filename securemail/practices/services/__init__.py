"""The only writers of a practice's settings and of what its user manager does to its
people, one module per flow:

- `policy`: the practice's settings (whether its invitees verify a phone, whether its
  doctors and staff must use two-step login);
- `people`: invitations sent again or to a corrected address (by the manager, or by
  whoever sent them), their reminders stopped (by whoever sent them), unlocking an
  account, handing the user manager's role to someone else;
- `plans`: buying or cancelling a plan for one of the practice's people (billing does the
  buying);
- `records`: the audit entries of the manager exporting the log or producing a patient's
  accounting of disclosures.

Every service takes the acting manager keyword-only and follows one order in one
transaction: authorize (practices.access: NotPracticeManager, Http404 for a person out of
reach) → rate limits → write → audit → queue emails. What they raise for the manager to
act on is PeopleError (TooManyRequests for a limit).
"""

from securemail.practices.services.people import (
    PeopleError,
    TooManyRequests,
    correct_invitee_email,
    correct_invitee_email_as_inviter,
    hand_over_manager_role,
    resend_invitation,
    resend_invitation_as_inviter,
    stop_reminders_as_inviter,
    unlock_account,
)
from securemail.practices.services.plans import buy_plan_for, cancel_plan_for
from securemail.practices.services.policy import (
    set_phone_verification_policy,
    set_two_step_policy,
)
from securemail.practices.services.records import record_disclosures_produced, record_log_export

__all__ = [
    "PeopleError",
    "TooManyRequests",
    "buy_plan_for",
    "cancel_plan_for",
    "correct_invitee_email",
    "correct_invitee_email_as_inviter",
    "hand_over_manager_role",
    "record_disclosures_produced",
    "record_log_export",
    "resend_invitation",
    "resend_invitation_as_inviter",
    "set_phone_verification_policy",
    "set_two_step_policy",
    "stop_reminders_as_inviter",
    "unlock_account",
]
