"""Issue 9: when a welcome (invitation) email can't be delivered, whoever sent the
invitation is told in the portal (a notice on their inbox, the delivery slip; the practice's
user manager sees it on the people page) and puts it right from there: correct the address
or send the invitation again (the old link stops working). Only the inviter's own open
invitations; the manager keeps the people page's actions. Through a real SMTP server."""

import re
import uuid
from typing import Any

import pytest
from django.test import Client

from securemail.accounts.models import User
from securemail.messaging import services as messaging
from securemail.messaging.tests.helpers import outbox_payloads, text_of
from securemail.notifications.models import OutboxEmail
from securemail.notifications.services import RETRY_DELAYS, deliver_due
from securemail.onboarding.models import Invitation, RecipientRole
from securemail.onboarding.tests.helpers import INVALID_LINK_TEXT, Mailbox
from securemail.practices.tests.helpers import PEOPLE, entries, no_address_in, row, text
from tests.support import links_in, path_of

pytestmark = [pytest.mark.django_db, pytest.mark.smtp]

TYPO = "pat.newman@gmial.test"
RIGHT = "pat.newman@gmail.test"
NO_SUCH_USER = "550 5.1.1 Recipient address rejected: User unknown"
CORRECTED = "practices:invitee:correct_email_by_inviter"
RESENT = "practices:invitation:resend_by_inviter"


def _invite_by_message(sender: User, address: str) -> tuple[Any, str]:
    """`sender` writes to a new address (a patient): the message and the invitation's link,
    read from the queued welcome email before the worker sends it."""
    message = messaging.send_message(
        sender=sender,
        recipients=[messaging.RecipientSpec(email=address, role=RecipientRole.PATIENT)],
        subject="Your appointment",
        body="See you on Tuesday.",
        client_token=uuid.uuid4(),
    )
    [link] = [
        path_of(link)
        for email, payload in outbox_payloads()
        if email.to_email == address
        for link in links_in(payload["text"])
        if "/join/" in link
    ]
    return message, link


def _slip_cell(page: Any, name: str) -> str:
    slip = re.search(r'<details class="slip">.*?<tbody>(.*?)</tbody>', page.content.decode(), re.S)
    assert slip is not None
    for row_html in re.findall(r"<tr>(.*?)</tr>", slip.group(1), re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row_html, re.S)
        if text_of(cells[0]).startswith(name):
            return cells[1]
    raise AssertionError(f"no slip row for {name}")


def _invitee_page(user: User) -> str:
    return f"/practice/invitations/{user.pk}/"


def test_the_inviter_is_told_of_a_bounced_invitation_and_corrects_the_address(
    login: Any, staff: User, doctor: User, smtp_server: Any
) -> None:
    smtp_server.refuse[TYPO] = NO_SUCH_USER
    message, old_link = _invite_by_message(staff, TYPO)
    invitee = User.objects.get(email=TYPO)
    assert deliver_due() == 0
    assert OutboxEmail.objects.get(to_email=TYPO).status == OutboxEmail.Status.BOUNCED

    # The inviter's inbox says so, with the way to put it right.
    browser = login(staff)
    inbox = browser.get("/")
    assert f"Your invitation to {TYPO} bounced: the address was refused." in text(inbox)
    assert f'href="{_invitee_page(invitee)}"' in inbox.content.decode()
    # So does the slip of the message that invited them.
    cell = _slip_cell(browser.get(f"/m/{message.pk}/"), TYPO)
    assert '<strong class="error">bounced ' in cell
    assert f'href="{_invitee_page(invitee)}"' in cell
    assert f'action="/practice/invitations/{invitee.pk}/resend/"' in cell
    # The practice's user manager sees it on the people page.
    assert "Invitation bounced" in row(_as(doctor).get(PEOPLE), invitee)

    page = browser.get(_invitee_page(invitee))
    assert page.status_code == 200
    assert "The invitation email bounced" in text(page)

    response = browser.post(_invitee_page(invitee), {"email": RIGHT})

    assert response.status_code == 302
    assert response["Location"] == "/"
    after = browser.get("/")
    assert f"The invitation now goes to {RIGHT}, with a new link" in text(after)
    assert "did not arrive" not in text(after)
    invitee.refresh_from_db()
    assert invitee.email == RIGHT
    # The slip follows the invitation's new email: queued, then delivered.
    assert text_of(_slip_cell(browser.get(f"/m/{message.pk}/"), RIGHT)) == "queued"
    mailbox = Mailbox(smtp_server)
    new_link = mailbox.link(RIGHT, "/join/")
    assert "delivered to the mail server" in text_of(
        _slip_cell(browser.get(f"/m/{message.pk}/"), RIGHT)
    )
    assert Client().get(new_link).status_code == 200
    stale = Client().get(old_link)
    assert stale.status_code == 404
    assert INVALID_LINK_TEXT in text(stale)
    [entry] = entries(CORRECTED)
    assert (entry.actor_id, entry.practice_id) == (staff.pk, staff.practice_id)
    assert entry.target == f"user:{invitee.pk}"
    assert no_address_in(entry, TYPO, RIGHT)


def _as(user: User) -> Client:
    """A browser of its own, logged in as `user`."""
    browser = Client()
    browser.force_login(user, backend="securemail.accounts.backends.EmailBackend")
    return browser


def test_an_invitation_never_delivered_is_sent_again_by_its_sender(
    login: Any, staff: User, smtp_server: Any
) -> None:
    # The relay answers "try later" for this address through every retry.
    smtp_server.refuse[TYPO] = "451 4.3.0 Temporary local problem"
    message, old_link = _invite_by_message(staff, TYPO)
    invitee = User.objects.get(email=TYPO)
    welcome = OutboxEmail.objects.get(to_email=TYPO)
    for _ in range(len(RETRY_DELAYS) + 1):
        OutboxEmail.objects.filter(pk=welcome.pk).update(next_attempt_at=welcome.created_at)
        deliver_due()
    welcome.refresh_from_db()
    assert welcome.status == OutboxEmail.Status.FAILED

    browser = login(staff)
    assert f"Your invitation to {TYPO} could not be delivered." in text(browser.get("/"))
    assert "The invitation email could not be delivered" in text(
        browser.get(_invitee_page(invitee))
    )
    cell = _slip_cell(browser.get(f"/m/{message.pk}/"), TYPO)
    assert '<strong class="error">not delivered ' in cell

    # The address was right after all: the mailbox works again, and the sender re-sends.
    del smtp_server.refuse[TYPO]
    response = browser.post(f"/practice/invitations/{invitee.pk}/resend/")

    assert response.status_code == 302
    assert f"A fresh invitation link was sent to {TYPO}" in text(browser.get("/"))
    assert text_of(_slip_cell(browser.get(f"/m/{message.pk}/"), TYPO)) == "queued"
    new_link = Mailbox(smtp_server).link(TYPO, "/join/")
    assert new_link != old_link
    assert Client().get(new_link).status_code == 200
    assert Client().get(old_link).status_code == 404
    assert "did not arrive" not in text(browser.get("/"))
    [entry] = entries(RESENT)
    assert (entry.actor_id, entry.target) == (staff.pk, f"user:{invitee.pk}")
    assert entry.data == {"link": "registration"}
    assert Invitation.objects.get(invitee=invitee).welcome_email_id != welcome.pk


@pytest.mark.parametrize("who", ["doctor", "other_doctor", "patient", "free_staff"])
def test_nobody_but_the_inviter_reaches_the_inviters_page(
    who: str, request: Any, login: Any, staff: User, smtp_server: Any
) -> None:
    smtp_server.refuse[TYPO] = NO_SUCH_USER
    _invite_by_message(staff, TYPO)
    deliver_due()
    invitee = User.objects.get(email=TYPO)
    browser = login(request.getfixturevalue(who))

    assert browser.get(_invitee_page(invitee)).status_code == 404
    assert browser.post(_invitee_page(invitee), {"email": RIGHT}).status_code == 404
    assert browser.post(f"/practice/invitations/{invitee.pk}/resend/").status_code == 404
    assert "did not arrive" not in text(browser.get("/"))
    invitee.refresh_from_db()
    assert invitee.email == TYPO
    assert OutboxEmail.objects.filter(to_email=TYPO).count() == 1


def test_a_registered_invitee_is_no_longer_the_inviters_to_change(
    login: Any, staff: User, patient: User, smtp_server: Any
) -> None:
    # Someone who already has an account was never invited by the staff member.
    browser = login(staff)
    assert browser.get(_invitee_page(patient)).status_code == 404


@pytest.mark.parametrize(
    ("address", "says"),
    [
        ("not an address", "Enter a valid email address."),
        ("", "Enter the address the invitation should go to."),
        (TYPO, "That is already the address the invitation goes to."),
        ("pat.smith@mail.test", "That address already has a SecureMail account"),
    ],
)
def test_a_bad_correction_is_refused_with_a_clear_message(
    address: str, says: str, login: Any, staff: User, patient: User, smtp_server: Any
) -> None:
    smtp_server.refuse[TYPO] = NO_SUCH_USER
    _invite_by_message(staff, TYPO)
    deliver_due()
    invitee = User.objects.get(email=TYPO)

    response = login(staff).post(_invitee_page(invitee), {"email": address})

    assert response.status_code == 400
    assert says in text(response)
    invitee.refresh_from_db()
    assert invitee.email == TYPO
    assert entries(CORRECTED) == []
