"""What the console itself writes: only the audit entry of an operator opening a record.

The operators' actions are the domains' own services (accounts.services.unlock_as_operator,
onboarding.services.resend_as_operator), which authorize, write and audit.
"""

from django.db import transaction

from securemail.accounts.access import is_operator
from securemail.accounts.models import User
from securemail.accounts.services import NotAnOperator
from securemail.audit import services as audit
from securemail.audit.events import Event


def record_view(*, operator: User, target: str) -> None:
    """An operator opened one record's page ("user:12"): audited, because the accounts and
    invitations the console shows are people's. Ids only. NotAnOperator for anyone else."""
    if not is_operator(operator):
        raise NotAnOperator("Only an operator can do this.")
    with transaction.atomic():
        audit.record(Event.OPERATOR_VIEWED_RECORD, actor_id=operator.pk, target=target)
