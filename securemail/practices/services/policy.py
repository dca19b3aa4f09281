"""The practice's settings, decided by its user manager (authorized through
practices.access, written and audited in one transaction)."""

from django.db import transaction

from securemail.accounts.models import Practice, User
from securemail.audit import services as audit
from securemail.audit.events import Event
from securemail.practices.access import managed_practice


def set_phone_verification_policy(*, manager: User, required: bool) -> None:
    """The practice's user manager decides whether the people it invites must verify a
    phone (pending invitees follow the change). NotPracticeManager for anyone else."""
    practice = managed_practice(manager)
    with transaction.atomic():
        Practice.objects.filter(pk=practice.pk).update(require_phone_verification=required)
        practice.require_phone_verification = required
        audit.record(
            Event.PHONE_VERIFICATION_POLICY,
            actor_id=manager.pk,
            practice_id=practice.pk,
            data={"required": required},
        )
