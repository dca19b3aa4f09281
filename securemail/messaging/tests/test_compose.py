"""Compose (SPEC §2): who may compose, what the form refuses, the recipient-role lookup."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from securemail.accounts.models import User
from securemail.audit.models import AuditEvent
from securemail.messaging.content import open_content
from securemail.messaging.models import Delivery, Message
from securemail.messaging.tests.helpers import (
    BODY,
    SUBJECT,
    assert_nothing_saved,
    compose,
    outbox_payloads,
    parse_form,
)
from securemail.notifications.models import OutboxEmail
from securemail.onboarding.models import Invitation

pytestmark = pytest.mark.django_db

NEW_ADDRESS = "new.person@example.test"
ROLE_LABEL = "Select recipient's role"
FIVE_ROLES = [
    "Doctor in my practice",
    "Staff in my practice",
    "Doctor in another practice",
    "Staff in another practice",
    "Patient",
]


# --- who may compose --------------------------------------------------------------------


def test_anonymous_visitor_is_sent_to_log_in(client: Any, doctor: User) -> None:
    response = client.get("/compose/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/compose/"

    users = User.objects.count()
    response = compose(client, to=NEW_ADDRESS, role="patient")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    response = client.post("/compose/lookup/", {"to": NEW_ADDRESS})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert_nothing_saved(users)


@pytest.mark.parametrize("persona", ["free_staff", "patient"])
def test_free_user_cannot_compose_and_is_told_why(
    persona: str, request: Any, login: Any, staff: User
) -> None:
    user = request.getfixturevalue(persona)
    client = login(user)
    users = User.objects.count()

    page = client.get("/compose/")
    assert page.status_code == 403
    assert b"Composing is a paid feature" in page.content
    assert b"reply" in page.content
    assert b'name="subject"' not in page.content

    # Posting the form directly changes nothing either, to a new or a known address.
    for data in ({"to": NEW_ADDRESS, "role": "patient"}, {"to": staff.email}):
        response = compose(client, **data)
        assert response.status_code == 403
        assert b"Composing is a paid feature" in response.content
    assert_nothing_saved(users)


def test_patients_are_told_their_account_stays_free(login: Any, patient: User) -> None:
    page = login(patient).get("/compose/")
    assert page.status_code == 403
    assert b"Patient accounts stay free" in page.content


# --- what the form refuses --------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"to": "jane.roe@"}, "Enter a valid email address, like name@example.com."),
        ({"to": "not an address", "role": "patient"}, "Enter a valid email address"),
        ({"to": ""}, "Enter the recipient&#x27;s email address."),
        ({"to": NEW_ADDRESS}, "New to SecureMail: select the recipient&#x27;s role for"),
        ({"to": NEW_ADDRESS, "role": "admin"}, "Select a valid choice."),
        ({"to": NEW_ADDRESS, "role": "patient", "subject": "   "}, "Enter a subject."),
        ({"to": NEW_ADDRESS, "role": "patient", "body": " \n "}, "Write a message."),
        ({"to": "sam.front@brightsmiles.test", "subject": ""}, "Enter a subject."),
        ({"to": "sam.front@brightsmiles.test", "body": ""}, "Write a message."),
        ({"to": "JANE.ROE@BrightSmiles.test"}, "You can&#x27;t send a secure message to yourself."),
    ],
    ids=[
        "malformed-address",
        "spaces-in-address",
        "no-address",
        "new-address-without-role",
        "unknown-role",
        "empty-subject",
        "empty-body",
        "known-address-empty-subject",
        "known-address-empty-body",
        "to-oneself",
    ],
)
def test_invalid_compose_is_refused_with_a_clear_message_and_nothing_saved(
    fields: dict[str, str], error: str, login: Any, doctor: User, staff: User
) -> None:
    client = login(doctor)
    users = User.objects.count()

    response = compose(client, **fields)

    assert response.status_code == 400
    assert error in response.content.decode()
    # The form comes back with what was typed, ready to fix.
    assert b"New secure message" in response.content
    assert_nothing_saved(users)


def test_new_address_without_role_shows_the_role_select_on_the_returned_form(
    login: Any, doctor: User
) -> None:
    response = compose(login(doctor), to=NEW_ADDRESS)

    assert response.status_code == 400
    assert NEW_ADDRESS in response.content.decode()
    form = parse_form(response.content.decode())
    assert form.labels["role-1"] == ROLE_LABEL
    options = form.selects[f"role-{NEW_ADDRESS}"]
    assert [label for value, label in options if value] == FIVE_ROLES
    assert SUBJECT in response.content.decode()


def test_saved_signature_counts_as_the_body(login: Any, doctor: User, staff: User) -> None:
    doctor.signature = "Dr. Jane Roe, DDS\nBright Smiles Dental"
    doctor.save()

    response = compose(login(doctor), to=staff.email, body="")

    message = Message.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/m/{message.pk}/"
    assert open_content(message).body == doctor.signature
    assert Delivery.objects.filter(message=message, recipient=staff).exists()


def test_signature_is_added_once_at_the_end_of_the_body(
    login: Any, doctor: User, staff: User
) -> None:
    doctor.signature = "Dr. Jane Roe, DDS"
    doctor.save()

    compose(login(doctor), to=staff.email, body=BODY)

    body = open_content(Message.objects.get()).body
    assert body.startswith(BODY)
    assert body.endswith("Dr. Jane Roe, DDS")
    assert body.count("Dr. Jane Roe, DDS") == 1


# --- sending ----------------------------------------------------------------------------


def test_known_address_needs_no_role_and_gets_a_new_message_email(
    login: Any, doctor: User, staff: User
) -> None:
    client = login(doctor)

    # A role sent along for a known address is ignored: the account stays what it is.
    response = compose(client, to="Sam.Front@BRIGHTSMILES.test", role="patient")

    message = Message.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/m/{message.pk}/"
    assert client.get(response["Location"]).status_code == 200
    delivery = Delivery.objects.get(message=message)
    assert delivery.recipient == staff
    assert delivery.read_at is None
    staff.refresh_from_db()
    assert staff.kind == User.Kind.STAFF
    assert staff.plan == User.Plan.PAID
    assert Invitation.objects.count() == 0

    [(email, payload)] = outbox_payloads()
    assert email.to_email == staff.email
    assert email.kind == "new_message"
    assert email.recipient_user_id == staff.pk
    assert payload["subject"] == (
        "Dr. Jane Roe of Bright Smiles Dental has sent you a secure message"
    )
    assert f"/m/{message.pk}/" in payload["text"]
    assert f"/m/{message.pk}/" in payload["html"]
    assert "/join/" not in payload["text"]

    event = AuditEvent.objects.get(event="messaging:message:send")
    assert event.actor_id == doctor.pk
    assert event.target == f"message:{message.pk}"
    assert event.data == {"recipients": [staff.pk]}


def test_sent_message_shows_in_the_recipients_inbox_and_the_senders_sent_folder(
    login: Any, client: Any, doctor: User, staff: User
) -> None:
    compose(login(doctor), to=staff.email)

    assert SUBJECT.encode() in client.get("/sent/").content
    client.force_login(staff, backend="securemail.accounts.backends.EmailBackend")
    assert SUBJECT.encode() in client.get("/").content


def test_double_submission_with_the_same_token_sends_one_message(login: Any, doctor: User) -> None:
    client = login(doctor)
    token = str(uuid.uuid4())

    first = compose(client, to=NEW_ADDRESS, role="patient", client_token=token)
    # The second click arrives when the address already has its (invited) account.
    second = compose(client, to=NEW_ADDRESS, role="patient", client_token=token)

    message = Message.objects.get()
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == f"/m/{message.pk}/"
    assert Delivery.objects.count() == 1
    assert Invitation.objects.count() == 1
    assert User.objects.filter(email=NEW_ADDRESS).count() == 1
    assert OutboxEmail.objects.count() == 1
    assert AuditEvent.objects.filter(event="messaging:message:send").count() == 1


def test_a_fresh_token_sends_a_second_message(login: Any, doctor: User, staff: User) -> None:
    client = login(doctor)

    compose(client, to=staff.email)
    compose(client, to=staff.email)

    assert Message.objects.count() == 2
    assert OutboxEmail.objects.filter(to_email=staff.email).count() == 2


# --- the recipient-role lookup -----------------------------------------------------------


def test_lookup_shows_the_role_select_for_a_new_address(login: Any, doctor: User) -> None:
    response = login(doctor).post("/compose/lookup/", {"to": NEW_ADDRESS})

    assert response.status_code == 200
    form = parse_form(response.content.decode())
    assert list(form.selects) == [f"role-{NEW_ADDRESS}"]
    assert form.labels["role-1"] == ROLE_LABEL
    options = form.selects[f"role-{NEW_ADDRESS}"]
    # Five roles to pick from; the only other option is the empty prompt.
    assert [label for value, label in options if value] == FIVE_ROLES
    assert [(value, label) for value, label in options if not value] == [("", ROLE_LABEL)]
    assert b"required" in response.content
    # Looking up creates nothing.
    assert not User.objects.filter(email=NEW_ADDRESS).exists()


def test_lookup_shows_no_role_select_for_a_known_address(
    login: Any, doctor: User, patient: User
) -> None:
    response = login(doctor).post("/compose/lookup/", {"to": "  PAT.Smith@mail.test "})

    assert response.status_code == 200
    assert parse_form(response.content.decode()).selects == {}
    assert ROLE_LABEL.encode() not in response.content.replace(b"&#x27;", b"'")
    assert b"Already on SecureMail" in response.content


@pytest.mark.parametrize("persona", ["free_staff", "patient"])
def test_lookup_is_for_paid_accounts_only(persona: str, request: Any, login: Any) -> None:
    client = login(request.getfixturevalue(persona))

    response = client.post("/compose/lookup/", {"to": NEW_ADDRESS})

    assert response.status_code == 403
    assert b"Composing is a paid feature" in response.content
    assert b"<select" not in response.content


def test_lookup_explains_an_invalid_address(login: Any, doctor: User) -> None:
    response = login(doctor).post("/compose/lookup/", {"to": "jane@@example"})

    assert b"Not a valid email address: jane@@example." in response.content
    assert b"<select" not in response.content


def test_lookup_is_rate_limited_to_sixty_a_minute(login: Any, doctor: User) -> None:
    start = datetime(2031, 3, 4, 9, 0, 0, tzinfo=UTC)

    with time_machine.travel(start, tick=False) as clock:
        client = login(doctor)
        for n in range(60):
            response = client.post("/compose/lookup/", {"to": f"person{n}@example.test"})
            assert response.status_code == 200, n
            assert b"<select" in response.content

        response = client.post("/compose/lookup/", {"to": "person60@example.test"})
        assert response.status_code == 429
        assert b"Too many address look-ups. Wait a minute and try again." in response.content
        assert b"<select" not in response.content

        # Compose itself still works, and the next minute the look-ups do again.
        assert client.get("/compose/").status_code == 200
        clock.shift(timedelta(seconds=60))
        response = client.post("/compose/lookup/", {"to": "person61@example.test"})
        assert response.status_code == 200
        assert b"<select" in response.content
