"""The audit entries of the user manager reading the practice's records: an export of the
audit log, an accounting of disclosures. Reading the log is itself audited (who looked at
whose records, when, from where); the views stream what they read after this commits."""

from datetime import date

from django.db import transaction

from securemail.accounts.models import User
from securemail.audit import services as audit
from securemail.audit.events import Event
from securemail.practices.access import managed_practice


def record_log_export(*, manager: User, first_day: date, last_day: date) -> None:
    """The manager exports the practice's log for these days. NotPracticeManager for
    anyone else."""
    practice = managed_practice(manager)
    with transaction.atomic():
        audit.record(
            Event.AUDIT_LOG_EXPORTED,
            actor_id=manager.pk,
            practice_id=practice.pk,
            data={"from": first_day.isoformat(), "to": last_day.isoformat()},
        )


def record_disclosures_produced(*, manager: User, patient_id: int, as_csv: bool) -> None:
    """The manager produced a patient's accounting of disclosures (the page or its CSV).
    The caller has read it (practices.disclosures.accounting_for: Http404 for a patient
    out of reach). NotPracticeManager for anyone else."""
    practice = managed_practice(manager)
    with transaction.atomic():
        audit.record(
            Event.DISCLOSURES_VIEWED,
            actor_id=manager.pk,
            practice_id=practice.pk,
            target=f"user:{patient_id}",
            data={"format": "csv" if as_csv else "page"},
        )
