"""Issue 11: "Stop reminders", one POST by whoever sent the invitation (from the delivery
slip or the invitation's page): idempotent, audited once, with a confirmation. Anyone else
gets a 404, as for nobody; GET is 405; a bad id is a 404; the form needs its CSRF token."""

from typing import Any

import pytest
from django.test import Client

from securemail.accounts.models import User
from securemail.audit.models import AuditEvent
from securemail.messaging.models import Message
from securemail.messaging.tests.helpers import send
from securemail.onboarding.models import Invitation, RecipientRole
from securemail.onboarding.tests.helpers import MAILBOX, finish_wizard, start

pytestmark = pytest.mark.django_db

NEWCOMER = "new.patient@example.test"
STOPPED = "onboarding:invitation:stop_reminders"


@pytest.fixture
def message(doctor: User) -> Message:
    return send(doctor, NEWCOMER, role=RecipientRole.PATIENT)


@pytest.fixture
def invitee(message: Message) -> User:
    return User.objects.get(email=NEWCOMER)


def stop_url(user_id: int) -> str:
    return f"/practice/invitations/{user_id}/reminders/stop/"


def invitation() -> Invitation:
    return Invitation.objects.get(invitee__email=NEWCOMER)


def test_the_sender_stops_the_reminders_once_however_often_they_click(
    login: Any, doctor: User, message: Message, invitee: User
) -> None:
    browser = login(doctor)
    first = browser.post(stop_url(invitee.pk), {"message": str(message.pk)}, follow=True)
    stopped_at = invitation().reminders_stopped_at
    again = browser.post(stop_url(invitee.pk), {"message": str(message.pk)}, follow=True)

    for page in (first, again):
        assert page.redirect_chain == [(f"/m/{message.pk}/", 302)]
        assert f"No more reminders will be sent to {NEWCOMER}." in page.content.decode()
    assert stopped_at is not None
    assert invitation().reminders_stopped_at == stopped_at
    [entry] = AuditEvent.objects.filter(event=STOPPED)
    assert entry.actor_id == doctor.pk
    assert entry.practice_id == doctor.practice_id
    assert entry.target == f"invitation:{invitation().pk}"
    # Ids only: never the address.
    assert NEWCOMER not in str(entry.data)


@pytest.mark.parametrize("persona", ["staff", "other_doctor", "patient", "outsider"])
def test_anyone_but_the_sender_gets_a_404_and_changes_nothing(
    request: Any, login: Any, persona: str, invitee: User
) -> None:
    browser = login(request.getfixturevalue(persona))
    assert browser.post(stop_url(invitee.pk)).status_code == 404
    assert invitation().reminders_stopped_at is None
    assert not AuditEvent.objects.filter(event=STOPPED).exists()


def test_the_practices_manager_who_did_not_send_it_gets_a_404(
    login: Any, staff: User, doctor: User
) -> None:
    # The staff member invited them; the doctor manages the practice but didn't send it.
    send(staff, NEWCOMER, role=RecipientRole.PATIENT)
    invitee = User.objects.get(email=NEWCOMER)
    assert login(doctor).post(stop_url(invitee.pk)).status_code == 404
    assert login(staff).post(stop_url(invitee.pk)).status_code == 302


def test_anonymous_visitors_are_sent_to_log_in(client: Client, invitee: User) -> None:
    response = client.post(stop_url(invitee.pk))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert invitation().reminders_stopped_at is None


def test_get_is_not_allowed(login: Any, doctor: User, invitee: User) -> None:
    assert login(doctor).get(stop_url(invitee.pk)).status_code == 405
    assert invitation().reminders_stopped_at is None


@pytest.mark.parametrize(
    "path", ["999999/reminders/stop/", "abc/reminders/stop/", "-1/reminders/stop/"]
)
def test_bad_ids_are_404(login: Any, doctor: User, invitee: User, path: str) -> None:
    assert login(doctor).post(f"/practice/invitations/{path}").status_code == 404


def test_an_invitee_who_registered_is_a_404(login: Any, doctor: User, invitee: User) -> None:
    finish_wizard(start(MAILBOX.link(NEWCOMER, "/join/")))
    assert login(doctor).post(stop_url(invitee.pk)).status_code == 404


def test_a_bad_message_id_goes_back_to_the_invitation_page_never_elsewhere(
    login: Any, doctor: User, invitee: User
) -> None:
    browser = login(doctor)
    for value in ["https://evil.example/", "../../", "not-a-uuid", ""]:
        response = browser.post(stop_url(invitee.pk), {"message": value})
        assert response.status_code == 302
        assert response["Location"] == f"/practice/invitations/{invitee.pk}/"
    assert invitation().reminders_stopped_at is not None


def test_the_form_needs_its_csrf_token(doctor: User, invitee: User) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(doctor, backend="securemail.accounts.backends.EmailBackend")
    assert browser.post(stop_url(invitee.pk)).status_code == 403
    assert invitation().reminders_stopped_at is None
