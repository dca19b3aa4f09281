"""The console's two actions, Unlock and Re-send, from the list and from a detail page: a
confirmation page first, then the operator service for each row; the rows, audit entries
and outbox entries they leave. And the services themselves refuse anyone but an operator."""

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from securemail.accounts import services as account_services
from securemail.accounts.models import User
from securemail.audit.models import AuditEvent
from securemail.console.tests.helpers import logged_in, page_url
from securemail.notifications.models import OutboxEmail
from securemail.onboarding import services as onboarding
from securemail.onboarding.models import Invitation
from securemail.onboarding.tests.helpers import (
    INVALID_LINK_TEXT,
    MAILBOX,
    finish_wizard,
    invite,
    register,
    start,
)
from tests.support import PASSWORD

pytestmark = pytest.mark.django_db

INVITEE = "new.staff@example.test"


def _lock(user: User) -> None:
    User.objects.filter(pk=user.pk).update(locked_at=timezone.now(), failed_logins=5)


def _act(client: Client, model: type, action: str, *ids: Any, confirmed: bool) -> Any:
    data: dict[str, Any] = {"action": action, "_selected_action": [str(i) for i in ids]}
    if confirmed:
        data["confirmed"] = "yes"
    return client.post(page_url(model), data)


# --- unlock -----------------------------------------------------------------------------


def test_unlock_asks_first_and_changes_nothing_until_confirmed(operator: User, staff: User) -> None:
    _lock(staff)

    page = _act(logged_in(operator), User, "unlock_accounts", staff.pk, confirmed=False)

    assert page.status_code == 200
    text = page.content.decode()
    assert "Unlock these accounts?" in text
    assert f"{staff.email}: locked since" in text
    assert 'name="confirmed" value="yes"' in text
    staff.refresh_from_db()
    assert staff.locked_at is not None
    assert not AuditEvent.objects.filter(event="ops:account:unlock").exists()


def test_an_operator_unlocks_a_locked_account_and_the_person_logs_in_again(
    client: Client, operator: User, staff: User, patient: User
) -> None:
    _lock(staff)
    outbox_before = OutboxEmail.objects.count()

    console = logged_in(operator)

    response = _act(console, User, "unlock_accounts", staff.pk, patient.pk, confirmed=True)

    assert response.status_code == 302
    assert response["Location"] == page_url(User)
    staff.refresh_from_db()
    assert staff.locked_at is None
    assert staff.failed_logins == 0
    (event,) = AuditEvent.objects.filter(event="ops:account:unlock")
    assert event.actor_id == operator.pk
    assert event.target == f"user:{staff.pk}"
    assert event.practice_id == staff.practice_id
    # The patient wasn't locked: nothing changed or audited for them; nobody is emailed.
    assert OutboxEmail.objects.count() == outbox_before
    listing = console.get(response["Location"])
    assert "Unlocked 1 account; 1 was not locked." in listing.content.decode()
    login = client.post("/accounts/login/", {"username": staff.email, "password": PASSWORD})
    assert login.status_code == 302


def test_unlock_from_an_accounts_detail_page(operator: User, staff: User) -> None:
    _lock(staff)
    client = logged_in(operator)
    detail = client.get(page_url(User, "change", staff.pk))
    assert "Unlock the account" in detail.content.decode()

    confirm = client.post(
        page_url(User, "change", staff.pk),
        {"CHANGE_FORM-action": "unlock_accounts", "_selected_action": [str(staff.pk)]},
    )
    assert confirm.status_code == 200
    assert "Unlock these accounts?" in confirm.content.decode()
    _act(client, User, "unlock_accounts", staff.pk, confirmed=True)

    staff.refresh_from_db()
    assert staff.locked_at is None


def test_the_unlock_service_refuses_anyone_but_an_operator(doctor: User, staff: User) -> None:
    _lock(staff)

    with pytest.raises(account_services.NotAnOperator):
        account_services.unlock_as_operator(operator=doctor, user=staff)

    staff.refresh_from_db()
    assert staff.locked_at is not None


def test_an_action_asks_for_at_most_a_hundred_rows(operator: User, make_user: Any) -> None:
    users = [make_user(f"person{n}@example.test") for n in range(101)]

    response = logged_in(operator).post(
        page_url(User),
        {"action": "unlock_accounts", "_selected_action": [str(u.pk) for u in users]},
        follow=True,
    )

    assert "Choose at most 100 at a time." in response.content.decode()


# --- re-send ----------------------------------------------------------------------------


def test_resend_asks_first(operator: User, doctor: User) -> None:
    invitation, _ = invite(doctor, INVITEE, "staff_my_practice")

    page = _act(
        logged_in(operator), Invitation, "resend_invitations", invitation.pk, confirmed=False
    )

    assert page.status_code == 200
    assert "Re-send these invitations?" in page.content.decode()
    assert f"{INVITEE} (Staff in my practice, invited)" in page.content.decode()
    assert OutboxEmail.objects.filter(to_email=INVITEE).count() == 1


def test_an_operator_resends_an_invitation_the_old_link_dies_and_the_new_one_works(
    operator: User, doctor: User
) -> None:
    invitation, old_path = invite(doctor, INVITEE, "staff_my_practice")
    old_hash = invitation.token_hash

    response = _act(
        logged_in(operator), Invitation, "resend_invitations", invitation.pk, confirmed=True
    )

    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.token_hash != old_hash
    kinds = list(OutboxEmail.objects.filter(to_email=INVITEE).order_by("created_at"))
    assert [e.kind for e in kinds] == ["welcome", "welcome_again"]
    (event,) = AuditEvent.objects.filter(event="ops:invitation:resend")
    assert event.actor_id == operator.pk
    assert event.target == f"invitation:{invitation.pk}"
    assert event.practice_id == doctor.practice_id
    assert event.data == {"sent": "registration_link"}
    new_path = MAILBOX.link(INVITEE, "/join/")
    assert new_path != old_path
    old = Client().get(old_path)
    assert old.status_code == 404
    assert INVALID_LINK_TEXT in old.content.decode()
    finish_wizard(start(new_path))
    assert User.objects.get(email=INVITEE).status == User.Status.REGISTERED


def test_an_expired_invitation_gets_a_fresh_thirty_days(operator: User, doctor: User) -> None:
    invitation, _ = invite(doctor, INVITEE, "patient")
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now())

    _act(logged_in(operator), Invitation, "resend_invitations", invitation.pk, confirmed=True)

    invitation.refresh_from_db()
    assert (invitation.expires_at - timezone.now()).days == 29
    assert Client().get(MAILBOX.link(INVITEE, "/join/")).status_code == 200


def test_resending_to_someone_whose_wizard_is_done_sends_the_set_password_link(
    operator: User, doctor: User
) -> None:
    invitee, _ = register(doctor, INVITEE, "staff_my_practice")
    invitation = Invitation.objects.get(invitee=invitee)

    console = logged_in(operator)

    response = _act(console, Invitation, "resend_invitations", invitation.pk, confirmed=True)

    listing = console.get(response["Location"])
    assert "a fresh set-password link" in listing.content.decode()
    last = OutboxEmail.objects.filter(to_email=INVITEE).order_by("created_at").last()
    assert last is not None
    assert last.kind == "set_password"
    assert "/accounts/password/" in MAILBOX.link(INVITEE, "/accounts/password/")
    event = AuditEvent.objects.get(event="ops:invitation:resend")
    assert event.data == {"sent": "set_password_link"}


def test_there_is_nothing_to_resend_once_the_password_is_set(operator: User, doctor: User) -> None:
    invitee, _ = register(doctor, INVITEE, "staff_my_practice")
    User.objects.filter(pk=invitee.pk).update(status=User.Status.ACTIVE)
    invitation = Invitation.objects.get(invitee=invitee)
    emails_before = OutboxEmail.objects.count()

    console = logged_in(operator)

    response = _act(console, Invitation, "resend_invitations", invitation.pk, confirmed=True)

    listing = console.get(response["Location"])
    assert "has finished registering and set a password" in listing.content.decode()
    assert OutboxEmail.objects.count() == emails_before
    assert not AuditEvent.objects.filter(event="ops:invitation:resend").exists()


def test_resend_from_an_invitations_detail_page(operator: User, doctor: User) -> None:
    invitation, _ = invite(doctor, INVITEE, "patient")
    client = logged_in(operator)

    confirm = client.post(
        page_url(Invitation, "change", invitation.pk),
        {"CHANGE_FORM-action": "resend_invitations", "_selected_action": [str(invitation.pk)]},
    )

    assert confirm.status_code == 200
    assert "Re-send these invitations?" in confirm.content.decode()


def test_the_resend_service_refuses_anyone_but_an_operator(doctor: User) -> None:
    invitation, _ = invite(doctor, INVITEE, "patient")

    with pytest.raises(account_services.NotAnOperator):
        onboarding.resend_as_operator(operator=doctor, invitation_id=invitation.pk)

    assert OutboxEmail.objects.filter(to_email=INVITEE).count() == 1


def test_a_practice_user_posting_an_action_gets_404_and_nothing_happens(
    doctor: User, staff: User
) -> None:
    _lock(staff)
    invitation, _ = invite(doctor, INVITEE, "patient")
    client = logged_in(doctor)

    unlock = _act(client, User, "unlock_accounts", staff.pk, confirmed=True)
    resend = _act(client, Invitation, "resend_invitations", invitation.pk, confirmed=True)

    assert unlock.status_code == 404
    assert resend.status_code == 404
    staff.refresh_from_db()
    assert staff.locked_at is not None
    assert OutboxEmail.objects.filter(to_email=INVITEE).count() == 1
