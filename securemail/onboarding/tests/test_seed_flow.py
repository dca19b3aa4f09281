"""The seed flow end to end through HTTP, for each of the five roles: compose to a new
address, the role's welcome email, the wizard, the code, the password email, log in, read
and reply; the sender sees the reply."""

import re
from typing import Any

import pytest
from django.test import Client

from securemail.accounts.models import Practice, User
from securemail.messaging.models import Delivery, Message
from securemail.notifications.services import deliver_due
from securemail.onboarding.models import Invitation
from tests.support import code_in, email_html, email_text, links_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.smtp]

SUBJECT = "Crown prep for tooth 14 — confidential"
BODY = "Patient presents with fractured cusp on 14. Hypertension, on lisinopril."
NEW_PASSWORD = "Plover-Quartz-9931"


def _send(client: Client, to: str, role: str | None) -> Any:
    page = client.get("/compose/")
    token = re.search(r'name="client_token" value="([^"]+)"', page.content.decode()).group(1)
    data = {"to": to, "subject": SUBJECT, "body": BODY, "client_token": token}
    if role:
        data["role"] = role
    return client.post("/compose/", data)


def _path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


ROLES = [
    ("doctor_my_practice", "doctor", True, True),
    ("staff_my_practice", "staff", True, False),
    ("doctor_other_practice", "doctor", False, True),
    ("staff_other_practice", "staff", False, False),
    ("patient", "patient", False, False),
]


@pytest.mark.parametrize(("role", "kind", "in_my_practice", "is_doctor"), ROLES)
def test_new_recipient_registers_reads_and_replies(
    role: str,
    kind: str,
    in_my_practice: bool,
    is_doctor: bool,
    doctor: User,
    login: Any,
    smtp_server: Any,
) -> None:
    sender = login(doctor)
    invitee_email = f"new.{role}@example.test"

    response = _send(sender, invitee_email, role)
    assert response.status_code == 302
    invitee = User.objects.get(email=invitee_email)
    assert invitee.status == User.Status.INVITED
    assert invitee.plan == User.Plan.FREE
    assert invitee.kind == kind
    assert (invitee.practice_id == doctor.practice_id) is in_my_practice
    invitation = Invitation.objects.get(invitee=invitee)
    assert len(invitation.token_hash) == 64

    # The worker delivers the welcome email through real SMTP.
    assert deliver_due() == 1
    [welcome] = smtp_server.wait_for(invitee_email)
    text, html = email_text(welcome), email_html(welcome)
    assert (
        "Dr. Jane Roe of Bright Smiles Dental has sent you a secure message" in welcome["Subject"]
    )
    for content in (text, html, welcome["Subject"]):
        assert SUBJECT not in content
        assert "fractured" not in content
    if role.endswith("other_practice"):
        assert "Practice information" in text
    else:
        assert "Practice information" not in text
    assert ("Your specialty" in text) is is_doctor
    if role == "patient":
        assert "cell phone or landline" in text
    join_url = next(link for link in links_in(text) if "/join/" in link)
    # The token is never stored: only its hash.
    assert join_url.rstrip("/").rsplit("/", 1)[1] not in invitation.token_hash

    browser = Client()
    # Opening the link (GET) spends nothing; a second GET still works.
    assert browser.get(_path(join_url)).status_code == 200
    landing = browser.get(_path(join_url))
    assert b"Dr. Jane Roe" in landing.content
    response = browser.post(_path(join_url))
    assert response.status_code == 302
    invitee.refresh_from_db()
    assert invitee.status == User.Status.STARTED

    url = response["Location"]
    if role.endswith("other_practice"):
        assert url.endswith("/register/practice/")
        page = browser.get(url)
        assert b"Practice name" in page.content
        response = browser.post(
            url,
            {
                "name": "Lakeside Oral Surgery",
                "website": "lakeside.example",
                "phone": "(312) 555-0188",
                "address_line1": "9 Lake Shore Drive",
                "city": "Chicago",
                "state": "IL",
                "postal_code": "60601",
            },
        )
        assert response.status_code == 302
        url = response["Location"]

    assert url.endswith("/register/you/")
    page = browser.get(url)
    assert invitee_email.encode() in page.content
    assert (b"landline" in page.content) is (role == "patient")
    you = {"full_name": "Alex Newman", "phone": "(202) 555-0177"}
    if role == "patient":
        you["phone_type"] = "cell"
    response = browser.post(url, you)
    assert response.status_code == 302
    url = response["Location"]

    if is_doctor:
        assert url.endswith("/register/specialty/")
        fragment = browser.get("/register/specialty/procedures/", {"specialty": "endodontics"})
        checked = re.findall(r'value="([a-z0-9-]+)" checked', fragment.content.decode())
        assert "root-canal-treatment" in checked or len(checked) >= 5
        response = browser.post(
            url, {"specialty": "endodontics", "procedures": checked[:3], "npi": "1234567893"}
        )
        assert response.status_code == 302
        url = response["Location"]

    assert url.endswith("/register/verify/")
    response = browser.post(url, {"send": "1", "channel": "sms"})
    assert response.status_code == 302
    # The text waits in the outbox; the worker hands it to the (local) SMS provider.
    assert deliver_due() == 1
    [sms] = smtp_server.wait_for("12025550177@sms.invalid")
    code = code_in(email_text(sms))
    response = browser.post(url, {"code": code})
    assert response.status_code == 302
    url = response["Location"]

    assert url.endswith("/register/terms/")
    response = browser.post(url, {"accept": "on"})
    assert response.status_code == 302
    assert response["Location"].endswith("/register/done/")
    invitee.refresh_from_db()
    assert invitee.status == User.Status.REGISTERED
    assert invitee.full_name == "Alex Newman"
    assert invitee.phone == "+12025550177"
    assert invitee.phone_verified_at is not None
    if role.endswith("other_practice"):
        assert invitee.practice.name == "Lakeside Oral Surgery"
        assert invitee.is_practice_manager
        assert invitee.practice_id != doctor.practice_id
    if is_doctor:
        assert invitee.specialty.slug == "endodontics"
        assert invitee.procedures.count() == 3
        assert invitee.npi == "1234567893"

    # The used link now gets the "no longer valid" page.
    assert browser.get(_path(join_url)).status_code == 404

    # The second email: set the password.
    assert deliver_due() == 1
    [_, password_email] = smtp_server.wait_for(invitee_email, count=2)
    assert SUBJECT not in email_text(password_email)
    set_url = next(link for link in links_in(email_text(password_email)) if "/password/" in link)
    response = browser.get(_path(set_url))
    assert response.status_code == 302  # the token moves from the URL into the session
    form_url = response["Location"]
    weak = browser.post(form_url, {"new_password1": "password", "new_password2": "password"})
    assert weak.status_code == 400
    assert b"too common" in weak.content
    response = browser.post(
        form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response.status_code == 302
    invitee.refresh_from_db()
    assert invitee.status == User.Status.ACTIVE
    assert invitee.password.startswith("argon2")
    # The link works once.
    again = browser.get(_path(set_url), follow=True)
    assert b"no longer valid" in again.content

    # Log in, read, reply.
    response = browser.post(
        "/accounts/login/", {"username": invitee_email.upper(), "password": NEW_PASSWORD}
    )
    assert response.status_code == 302
    inbox = browser.get("/")
    assert SUBJECT.encode() in inbox.content
    message = Message.objects.get(sender=doctor)
    page = browser.get(f"/m/{message.pk}/")
    assert BODY.encode() in page.content
    assert Delivery.objects.get(message=message, recipient=invitee).read_at is not None
    token = re.search(r'name="client_token" value="([^"]+)"', page.content.decode()).group(1)
    response = browser.post(
        f"/m/{message.pk}/reply/", {"body": "Thanks, see you Tuesday.", "client_token": token}
    )
    assert response.status_code == 302

    # The sender is notified (no content) and sees the reply in the thread.
    deliver_due()
    [notice] = smtp_server.wait_for(doctor.email)
    assert "replied" in notice["Subject"]
    assert "see you Tuesday" not in email_text(notice)
    thread = sender.get(f"/m/{message.pk}/")
    assert b"Thanks, see you Tuesday." in thread.content
    assert b"Re: " + SUBJECT.encode() in sender.get("/").content

    # A practice was created only for the another-practice roles.
    assert Practice.objects.count() == (2 if role.endswith("other_practice") else 1)
