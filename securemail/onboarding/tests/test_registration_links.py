"""The emailed registration link: unknown, altered, expired and used links all get the same
page offering a fresh link; opening a good one spends nothing; the wizard needs a session."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from securemail.accounts.models import User
from securemail.audit.models import AuditEvent
from securemail.onboarding.models import Invitation
from securemail.onboarding.tests.helpers import (
    INVALID_LINK_TEXT,
    finish_wizard,
    invite,
    start,
)

pytestmark = pytest.mark.django_db

EMAIL = "new.staff@example.test"


def _altered(join_path: str) -> str:
    token = join_path.rstrip("/").rsplit("/", 1)[1]
    last = "A" if token[-1] != "A" else "B"
    return f"/join/{token[:-1]}{last}/"


def test_unknown_altered_expired_and_used_links_get_the_same_invalid_page(doctor: User) -> None:
    # Four invitations: one link is altered, one expires, one is used, one stays good.
    _, altered_path = invite(doctor, "altered@example.test", "staff_my_practice")
    _, expired_path = invite(doctor, "expired@example.test", "staff_my_practice")
    _, used_path = invite(doctor, "used@example.test", "staff_my_practice")
    finish_wizard(start(used_path))

    pages = {
        "unknown": Client().get("/join/not-a-token-we-ever-sent/"),
        "altered": Client().get(_altered(altered_path)),
        "used": Client().get(used_path),
    }
    with time_machine.travel(timezone.now() + timedelta(days=30, minutes=1)):
        pages["expired"] = Client().get(expired_path)

    for name, page in pages.items():
        assert page.status_code == 404, name
        assert INVALID_LINK_TEXT in page.content.decode(), name
        assert b'href="/register/link/"' in page.content, name
    # Links we sent (used, expired) get the one-button fresh link, carrying their own token;
    # links we never sent get the form to type the address. No page shows the address.
    for name, path in (("used", used_path), ("expired", expired_path)):
        token = path.rstrip("/").rsplit("/", 1)[1]
        assert b'action="/register/link/again/"' in pages[name].content, name
        assert f'name="token" value="{token}"'.encode() in pages[name].content, name
    for name in ("unknown", "altered"):
        assert b"/register/link/again/" not in pages[name].content, name
    assert pages["unknown"].content == pages["altered"].content
    for address in ("used@example.test", "expired@example.test", "altered@example.test"):
        assert not any(address.encode() in page.content for page in pages.values())


def test_posting_to_a_bad_link_starts_nothing(doctor: User) -> None:
    invitation, join_path = invite(doctor, EMAIL, "staff_my_practice")

    client = Client()
    response = client.post(_altered(join_path))

    assert response.status_code == 404
    assert INVALID_LINK_TEXT in response.content.decode()
    assert client.get("/register/you/").status_code == 404
    invitation.refresh_from_db()
    assert invitation.opened_at is None
    assert invitation.invitee.status == User.Status.INVITED


def test_a_link_still_works_on_its_last_day(doctor: User) -> None:
    _, join_path = invite(doctor, EMAIL, "staff_my_practice")

    with time_machine.travel(timezone.now() + timedelta(days=29, hours=23)):
        page = Client().get(join_path)
        client = start(join_path)
        you = client.get("/register/you/")

    assert page.status_code == 200
    assert b"Start registration" in page.content
    assert you.status_code == 200


def test_opening_a_good_link_twice_spends_nothing(doctor: User) -> None:
    invitation, join_path = invite(doctor, EMAIL, "staff_my_practice")
    events_before = AuditEvent.objects.count()

    # A mail scanner and then the person both open it.
    first = Client().get(join_path)
    second = Client().get(join_path)

    for page in (first, second):
        assert page.status_code == 200
        assert b"Dr. Jane Roe of Bright Smiles Dental has sent you a secure message" in (
            page.content
        )
        assert EMAIL.encode() in page.content
    invitation.refresh_from_db()
    assert invitation.opened_at is None
    assert invitation.used_at is None
    assert invitation.invitee.status == User.Status.INVITED
    assert AuditEvent.objects.count() == events_before
    # The link still starts the registration.
    client = start(join_path)
    assert client.get("/register/you/").status_code == 200


def test_starting_registration_records_the_opening_once(doctor: User) -> None:
    invitation, join_path = invite(doctor, EMAIL, "staff_my_practice")

    start(join_path)
    start(join_path)

    invitation.refresh_from_db()
    assert invitation.opened_at is not None
    assert invitation.used_at is None
    assert invitation.invitee.status == User.Status.STARTED
    opened = AuditEvent.objects.filter(
        event="onboarding:invitation:open", target=f"invitation:{invitation.pk}"
    )
    assert opened.count() == 1


@pytest.mark.parametrize("url", ["/register/you/", "/register/verify/", "/register/terms/"])
def test_the_wizard_without_a_started_registration_shows_the_invalid_link_page(
    url: str, doctor: User
) -> None:
    invite(doctor, EMAIL, "staff_my_practice")

    client = Client()
    resume = client.get("/register/")
    page = client.get(url)
    post = client.post(url, {"full_name": "Mallory", "phone": "(202) 555-0177", "accept": "on"})

    for response in (resume, page, post):
        assert response.status_code == 404
        assert INVALID_LINK_TEXT in response.content.decode()
    assert not Invitation.objects.exclude(wizard_data={}).exists()
    assert User.objects.get(email=EMAIL).status == User.Status.INVITED


def test_a_wizard_left_open_past_the_links_expiry_shows_the_invalid_link_page(
    doctor: User,
) -> None:
    invitation, join_path = invite(doctor, EMAIL, "staff_my_practice")
    expiry = invitation.expires_at
    with time_machine.travel(expiry - timedelta(minutes=5)):
        client = start(join_path)
    # Ten minutes later: the session is still alive, the invitation is not.
    with time_machine.travel(expiry + timedelta(minutes=5)):
        response = client.post(
            "/register/you/", {"full_name": "Alex Newman", "phone": "(202) 555-0177"}
        )

    assert response.status_code == 404
    assert INVALID_LINK_TEXT in response.content.decode()
    invitation.refresh_from_db()
    assert "done" not in invitation.wizard_data


def test_a_link_for_one_invitation_opens_only_that_invitation(doctor: User) -> None:
    first, first_path = invite(doctor, "first@example.test", "staff_my_practice")
    second, _ = invite(doctor, "second@example.test", "patient")

    client = start(first_path)
    page = client.get("/register/you/")

    assert b"first@example.test" in page.content
    assert b"second@example.test" not in page.content
    assert client.session["onboarding.invitation"] == first.pk
    second.refresh_from_db()
    assert second.opened_at is None
