"""Issue 9: operators see what the outbox gave up on. The console's index links to "Emails
not delivered" (and texts), a filter of the outbox pages listing the rows failed after
every retry or bounced, newest first: when, kind, outbox id (the one the worker's ERROR
names), the recipient's account; never the content. Nothing else is listed there."""

from typing import Any

import pytest

from securemail.accounts.models import User
from securemail.console.tests.helpers import console_url, logged_in, page_url
from securemail.notifications.models import OutboxEmail, OutboxText
from securemail.notifications.services import RETRY_DELAYS, deliver_due
from securemail.notifications.tests.helpers import queue_password_email

pytestmark = [pytest.mark.django_db, pytest.mark.smtp]

NO_SUCH_USER = "550 5.1.1 Recipient address rejected: User unknown"


def _ids_listed(page: Any, model: type) -> set[str]:
    ids = {str(pk) for pk in model.objects.values_list("pk", flat=True)}
    return {pk for pk in ids if pk in page.content.decode()}


def test_operators_list_the_emails_given_up_without_their_content(
    operator: User, doctor: User, patient: User, staff: User, smtp_server: Any
) -> None:
    delivered, _ = queue_password_email(staff)
    smtp_server.refuse[patient.email] = NO_SUCH_USER
    bounced, bounced_link = queue_password_email(patient)
    # The doctor's mail server answers "try later" through every retry.
    smtp_server.refuse[doctor.email] = "451 4.3.0 Temporary local problem"
    failed, failed_link = queue_password_email(doctor)
    for _ in range(len(RETRY_DELAYS) + 1):
        OutboxEmail.objects.filter(pk=failed.pk).update(next_attempt_at=failed.created_at)
        deliver_due()
    # And one still waiting to retry.
    waiting, _ = queue_password_email(staff)
    smtp_server.refuse[staff.email] = "451 4.3.0 Temporary local problem"
    deliver_due()
    mine = [delivered.pk, bounced.pk, failed.pk, waiting.pk]
    assert {e.pk: e.status for e in OutboxEmail.objects.filter(pk__in=mine)} == {
        delivered.pk: OutboxEmail.Status.SENT,
        bounced.pk: OutboxEmail.Status.BOUNCED,
        failed.pk: OutboxEmail.Status.FAILED,
        waiting.pk: OutboxEmail.Status.RETRY,
    }
    console = logged_in(operator)

    index = console.get(console_url())
    undelivered = page_url(OutboxEmail) + "?delivery=undelivered"
    assert f'href="{undelivered}"' in index.content.decode()
    assert f'href="{page_url(OutboxText)}?delivery=undelivered"' in index.content.decode()

    page = console.get(undelivered)

    assert page.status_code == 200
    assert _ids_listed(page, OutboxEmail) == {str(bounced.pk), str(failed.pk)}
    content = page.content.decode()
    for shown in ["bounced (550)", "SMTPRecipientsRefused", "set_password"]:
        assert shown in content, shown
    for account in (patient, doctor):
        assert f'href="{page_url(User, "change", account.pk)}">account {account.pk}<' in content
    # Never a link or anything else the emails said.
    for link in (bounced_link, failed_link):
        assert link not in content
    assert "Your SecureMail password link" not in content
    # The status filter tells the two apart.
    only_bounced = console.get(page_url(OutboxEmail) + "?status__exact=bounced")
    assert _ids_listed(only_bounced, OutboxEmail) == {str(bounced.pk)}


def test_the_detail_page_says_when_it_was_given_up_and_that_the_content_is_wiped(
    operator: User, patient: User, smtp_server: Any
) -> None:
    smtp_server.refuse[patient.email] = NO_SUCH_USER
    bounced, link = queue_password_email(patient)
    deliver_due()

    page = logged_in(operator).get(page_url(OutboxEmail, "change", bounced.pk))

    assert page.status_code == 200
    content = page.content.decode()
    assert "Given up at" in content
    assert "wiped (sent or given up)" in content
    assert link not in content
