"""Issue 11: "tell me about new messages by" covers new-message notices only. Invitations,
fresh registration links, set-password links and security notices always go by email,
whatever the setting; with "No notifications" a new message sends neither an email nor a
text."""

from typing import Any

import pytest
from django.core import mail

from securemail.accounts import services
from securemail.accounts.models import User
from securemail.accounts.security.changes import change_password
from securemail.messaging.tests.helpers import send
from securemail.notifications.models import OutboxEmail, OutboxText
from securemail.notifications.services import deliver_due
from securemail.onboarding.models import RecipientRole
from securemail.practices.services.people import resend_invitation

pytestmark = pytest.mark.django_db


def delivered_to(address: str) -> list[Any]:
    deliver_due()
    return [m for m in mail.outbox if m.to == [address]]


@pytest.mark.parametrize("choice", [User.Notify.NONE, User.Notify.SMS])
def test_security_notices_and_password_links_go_by_email_whatever_the_setting(
    patient: User, choice: str
) -> None:
    patient.notify_by = choice
    patient.save()

    change_password(user=patient, password="Another-Long-Passphrase-73")
    services.send_password_link(email=patient.email)

    received = delivered_to(patient.email)
    assert sorted(m.subject for m in received) == [
        "SecureMail: Your password was changed",
        "Your SecureMail password link",
    ]
    assert sorted(OutboxEmail.objects.values_list("kind", flat=True)) == [
        "security_notice",
        "set_password",
    ]
    assert OutboxText.objects.count() == 0


def test_an_invitee_who_chose_none_still_gets_a_fresh_welcome_email(doctor: User) -> None:
    send(doctor, "new.colleague@mail.test", role=RecipientRole.STAFF_IN_MY_PRACTICE)
    invitee = User.objects.get(email="new.colleague@mail.test")
    assert len(delivered_to(invitee.email)) == 1
    assert OutboxEmail.objects.get(to_email=invitee.email).kind == "welcome"
    invitee.notify_by = User.Notify.NONE
    invitee.save()
    mail.outbox.clear()

    resend_invitation(manager=doctor, user_id=invitee.pk)

    [again] = delivered_to(invitee.email)
    assert "here is a fresh registration link" in again.body
    assert "/join/" in again.body
    assert OutboxEmail.objects.filter(to_email=invitee.email, kind="welcome_again").count() == 1


def test_none_gets_no_new_message_email_nor_text(doctor: User, patient: User) -> None:
    patient.notify_by = User.Notify.NONE
    patient.save()

    send(doctor, patient)

    assert delivered_to(patient.email) == []
    assert mail.outbox == []
    assert OutboxEmail.objects.count() == 0
    assert OutboxText.objects.count() == 0
