"""The "send me a fresh link" form: the same answer for every address; a new welcome email
(and a dead old link) for an invited address, a set-password email for a registered one;
rate limited."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone

from securemail.accounts.models import User
from securemail.audit.models import AuditEvent
from securemail.core.ratelimit import parse_rule
from securemail.notifications.models import OutboxEmail
from securemail.onboarding.models import Invitation
from securemail.onboarding.tests.helpers import (
    INVALID_LINK_TEXT,
    MAILBOX,
    finish_wizard,
    invite,
    post_you,
    register,
    start,
)

pytestmark = pytest.mark.django_db

EMAIL = "new.patient@example.test"
SENT_TEXT = "If there is an open invitation for that address, a fresh link is on its way."


def _ask(email: str, client: Client | None = None, ip: str = "127.0.0.1") -> object:
    return (client or Client()).post("/register/link/", {"email": email}, REMOTE_ADDR=ip)


def test_the_form_gives_the_same_answer_for_unknown_and_invited_addresses(doctor: User) -> None:
    invite(doctor, EMAIL, "patient")
    outbox_before = OutboxEmail.objects.count()

    unknown = _ask("nobody.here@example.test")
    known = _ask(EMAIL)

    assert unknown.status_code == known.status_code == 200
    assert SENT_TEXT in unknown.content.decode()
    assert unknown.content == known.content
    # Only the invited address got an email.
    assert OutboxEmail.objects.count() == outbox_before + 1
    assert OutboxEmail.objects.latest("created_at").to_email == EMAIL
    assert MAILBOX.to("nobody.here@example.test") == []


def test_an_invited_address_gets_a_new_welcome_email_and_the_old_link_stops_working(
    doctor: User,
) -> None:
    invitation, old_path = invite(doctor, EMAIL, "patient")

    _ask(EMAIL.upper())

    outbox = OutboxEmail.objects.filter(to_email=EMAIL).order_by("created_at")
    assert [e.kind for e in outbox] == ["welcome", "welcome_again"]
    again = MAILBOX.last_to(EMAIL)
    assert again.subject.startswith("Reminder: Dr. Jane Roe of Bright Smiles Dental")
    assert "here is a fresh registration link" in again.text
    assert "here is a fresh registration link" in again.html
    new_path = MAILBOX.link(EMAIL, "/join/")
    assert new_path != old_path

    old = Client().get(old_path)
    assert old.status_code == 404
    assert INVALID_LINK_TEXT in old.content.decode()
    assert Client().get(new_path).status_code == 200
    client = start(new_path)
    assert client.get("/register/you/").status_code == 200
    assert AuditEvent.objects.filter(
        event="onboarding:invitation:fresh_link", target=f"invitation:{invitation.pk}"
    ).exists()
    # Still one invitation, not a second one.
    assert Invitation.objects.filter(invitee__email=EMAIL).count() == 1


def test_an_expired_invitation_can_be_revived_with_a_fresh_link(doctor: User) -> None:
    _, old_path = invite(doctor, EMAIL, "patient")

    with time_machine.travel(timezone.now() + timedelta(days=45)):
        invalid = Client().get(old_path)
        _ask(EMAIL)
        new_path = MAILBOX.link(EMAIL, "/join/")
        client = start(new_path)
        response = finish_wizard(client)

    assert invalid.status_code == 404
    assert response["Location"].endswith("/register/done/")
    assert User.objects.get(email=EMAIL).status == User.Status.REGISTERED


def test_a_fresh_link_keeps_what_the_wizard_already_collected(doctor: User) -> None:
    _, old_path = invite(doctor, EMAIL, "patient")
    post_you(start(old_path), full_name="Alex Newman")

    _ask(EMAIL)
    client = start(MAILBOX.link(EMAIL, "/join/"))

    # The person resumes at the next unfinished step, their name still filled in.
    assert client.get("/register/")["Location"].endswith("/register/verify/")
    assert b'value="Alex Newman"' in client.get("/register/you/").content
    assert User.objects.get(email=EMAIL).status == User.Status.STARTED


def test_a_registered_address_gets_a_set_password_email_instead(doctor: User) -> None:
    invitee, _ = register(doctor, EMAIL, "patient")
    invitation = Invitation.objects.get(invitee=invitee)
    token_hash = invitation.token_hash

    response = _ask(EMAIL)

    assert SENT_TEXT in response.content.decode()
    kinds = list(
        OutboxEmail.objects.filter(to_email=EMAIL)
        .order_by("created_at")
        .values_list("kind", flat=True)
    )
    assert kinds == ["welcome", "set_password", "set_password"]
    email = MAILBOX.last_to(EMAIL)
    assert email.subject == "Set your SecureMail password"
    set_password = Client().get(MAILBOX.link(EMAIL, "/accounts/password/"))
    assert set_password.status_code == 302
    assert set_password["Location"].endswith("/set-password/")
    # No new registration link for a finished registration.
    invitation.refresh_from_db()
    assert invitation.token_hash == token_hash
    assert "/join/" not in email.text


def test_an_active_account_gets_nothing_from_the_registration_form(
    doctor: User, staff: User
) -> None:
    outbox_before = OutboxEmail.objects.count()

    response = _ask(staff.email)

    assert SENT_TEXT in response.content.decode()
    assert OutboxEmail.objects.count() == outbox_before


def test_a_malformed_address_gets_a_clear_error(doctor: User) -> None:
    response = _ask("not an address")

    assert response.status_code == 400
    assert "Enter a valid email address." in response.content.decode()
    assert OutboxEmail.objects.count() == 0


def test_the_sixth_request_in_an_hour_is_refused_with_a_clear_message(doctor: User) -> None:
    invite(doctor, EMAIL, "patient")
    client = Client()
    for _ in range(5):
        assert _ask(EMAIL, client).status_code == 200
    sent = OutboxEmail.objects.filter(to_email=EMAIL).count()

    refused = _ask(EMAIL, client)

    assert refused.status_code == 429
    assert "Too many requests. Wait an hour and try again." in refused.content.decode()
    assert OutboxEmail.objects.filter(to_email=EMAIL).count() == sent
    # An hour later the form works again.
    with time_machine.travel(timezone.now() + timedelta(hours=1, minutes=1)):
        assert _ask(EMAIL, client).status_code == 200
        assert OutboxEmail.objects.filter(to_email=EMAIL).count() == sent + 1


def test_the_limit_per_address_holds_across_different_computers(doctor: User) -> None:
    invite(doctor, EMAIL, "patient")
    for n in range(5):
        assert _ask(EMAIL, ip=f"198.51.100.{n + 1}").status_code == 200

    refused = _ask(EMAIL, ip="198.51.100.99")

    assert refused.status_code == 429
    assert "Too many requests" in refused.content.decode()
    assert OutboxEmail.objects.filter(to_email=EMAIL, kind="welcome_again").count() == 5


def test_the_limit_per_computer_holds_across_different_addresses(doctor: User) -> None:
    per_computer, _ = parse_rule(settings.SECUREMAIL_RATE_LIMITS["fresh_link"])
    for n in range(per_computer):
        assert _ask(f"someone.{n}@example.test").status_code == 200
    invite(doctor, EMAIL, "patient")

    refused = _ask(EMAIL)

    assert refused.status_code == 429
    assert not OutboxEmail.objects.filter(to_email=EMAIL, kind="welcome_again").exists()


def test_six_invitees_of_one_office_each_get_a_fresh_link(doctor: User) -> None:
    emails = [f"new.{n}@example.test" for n in range(6)]
    for email in emails:
        invite(doctor, email, "patient")

    answers = [_ask(email, ip="203.0.113.7").status_code for email in emails]

    assert answers == [200] * 6
    for email in emails:
        assert OutboxEmail.objects.filter(to_email=email, kind="welcome_again").count() == 1
