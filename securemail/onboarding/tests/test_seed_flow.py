"""The seed flow end to end through HTTP, for each of the five roles, one test per role
family (a colleague in my practice, someone of another practice, a patient): compose to a
new address, the role's welcome email, the wizard, the code, the password email, log in,
read and reply; the sender sees the reply."""

import hashlib
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps
from django.test import Client

from securemail.accounts.models import Practice, User
from securemail.messaging.models import Delivery, Message
from securemail.notifications.services import deliver_due
from securemail.onboarding.models import Invitation
from securemail.onboarding.tests.helpers import PRACTICE, compose
from tests.support import (
    SmtpSink,
    client_token,
    code_in,
    email_html,
    email_text,
    links_in,
    path_of,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.smtp]

SUBJECT = "Crown prep for tooth 14 — confidential"
BODY = "Patient presents with fractured cusp on 14. Hypertension, on lisinopril."
NEW_PASSWORD = "Plover-Quartz-9931"
SPECIALTY = ("endodontics", 3, "1234567893")  # what a doctor's specialty step saves
NO_SPECIALTY = (None, 0, "")

# A wizard step: (the registering person's browser, the step's URL, the SMTP server) → the
# URL the step sends them on to.
Step = Callable[[Client, str, SmtpSink], str]


# --- before the wizard ----------------------------------------------------------------------


def _invite_by_compose(sender: Client, role: str) -> User:
    """The doctor sends to a new address with `role`: an invited account, free, and an
    invitation whose link the worker emails."""
    response = compose(sender, to=f"new.{role}@example.test", subject=SUBJECT, body=BODY, role=role)
    assert response.status_code == 302
    invitee = User.objects.get(email=f"new.{role}@example.test")
    assert invitee.status == User.Status.INVITED
    assert invitee.plan == User.Plan.FREE
    return invitee


def _welcome_email(smtp_server: SmtpSink, invitee: User) -> tuple[str, str]:
    """The worker delivers the welcome email through real SMTP: its text and join link."""
    assert deliver_due() == 1
    [welcome] = smtp_server.wait_for(invitee.email)
    text, html = email_text(welcome), email_html(welcome)
    assert (
        "Dr. Jane Roe of Bright Smiles Dental has sent you a secure message" in welcome["Subject"]
    )
    for content in (text, html, welcome["Subject"]):
        assert SUBJECT not in content
        assert "fractured" not in content
    return text, next(link for link in links_in(text) if "/join/" in link)


def _assert_only_the_token_hash_is_stored(invitee: User, join_url: str) -> None:
    """The invitation stores the SHA-256 of the emailed token; the token itself is in no
    column of any row of any table."""
    token = join_url.rstrip("/").rsplit("/", 1)[1]
    invitation = Invitation.objects.get(invitee=invitee)
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    for model in apps.get_models():
        for row in model.objects.values_list():
            assert token not in repr(row), model.__name__


def _start(browser: Client, join_url: str, invitee: User) -> str:
    """Open the link (a GET spends nothing, a second one still works), press "Start
    registration": the URL of the wizard's first step."""
    assert browser.get(path_of(join_url)).status_code == 200
    landing = browser.get(path_of(join_url))
    assert b"Dr. Jane Roe" in landing.content
    response = browser.post(path_of(join_url))
    assert response.status_code == 302
    invitee.refresh_from_db()
    assert invitee.status == User.Status.STARTED
    return str(response["Location"])


# --- the wizard's steps -----------------------------------------------------------------------


def _next(response: Any) -> str:
    assert response.status_code == 302, response
    return str(response["Location"])


def _practice(browser: Client, url: str, smtp_server: SmtpSink) -> str:
    assert url.endswith("/register/practice/")
    assert b"Practice name" in browser.get(url).content
    return _next(browser.post(url, PRACTICE))


def _about_you(browser: Client, url: str, smtp_server: SmtpSink) -> str:
    assert url.endswith("/register/you/")
    page = browser.get(url)
    assert b"@example.test" in page.content
    # A doctor or staff member gives a cell phone: no landline choice.
    assert b"landline" not in page.content
    return _next(browser.post(url, {"full_name": "Alex Newman", "phone": "(202) 555-0177"}))


def _about_you_as_patient(browser: Client, url: str, smtp_server: SmtpSink) -> str:
    assert url.endswith("/register/you/")
    page = browser.get(url)
    assert b"@example.test" in page.content
    assert b"landline" in page.content
    you = {"full_name": "Alex Newman", "phone": "(202) 555-0177", "phone_type": "cell"}
    return _next(browser.post(url, you))


def _specialty(browser: Client, url: str, smtp_server: SmtpSink) -> str:
    assert url.endswith("/register/specialty/")
    fragment = browser.get(
        "/register/specialty/procedures/",
        {"specialty": "endodontics"},
        headers={"HX-Request": "true"},
    )
    checked = re.findall(r'value="([a-z0-9-]+)" checked', fragment.content.decode())
    assert "root-canal-treatment" in checked or len(checked) >= 5
    answers = {"specialty": "endodontics", "procedures": checked[:3], "npi": "1234567893"}
    return _next(browser.post(url, answers))


def _verify(browser: Client, url: str, smtp_server: SmtpSink) -> str:
    assert url.endswith("/register/verify/")
    response = browser.post("/register/verify/send/", {"channel": "sms"})
    assert response.status_code == 302
    assert response["Location"] == "/register/verify/"
    # The text waits in the outbox; the worker hands it to the (local) SMS provider.
    assert deliver_due() == 1
    [sms] = smtp_server.wait_for("12025550177@sms.invalid")
    return _next(browser.post(url, {"code": code_in(email_text(sms))}))


def _terms(browser: Client, url: str, smtp_server: SmtpSink) -> str:
    assert url.endswith("/register/terms/")
    return _next(browser.post(url, {"accept": "on"}))


def _walk(browser: Client, url: str, steps: list[Step], smtp_server: SmtpSink) -> None:
    """Answer exactly `steps`, in order, then the phone check and the terms."""
    for step in [*steps, _verify, _terms]:
        url = step(browser, url, smtp_server)
    assert url.endswith("/register/done/")


# --- after the wizard -------------------------------------------------------------------------


def _assert_registered(invitee: User, specialty: tuple[str | None, int, str]) -> None:
    invitee.refresh_from_db()
    assert invitee.status == User.Status.REGISTERED
    assert invitee.full_name == "Alex Newman"
    assert invitee.phone == "+12025550177"
    assert invitee.phone_verified_at is not None
    saved = (getattr(invitee.specialty, "slug", None), invitee.procedures.count(), invitee.npi)
    assert saved == specialty


def _set_password_read_and_reply(
    browser: Client, join_url: str, invitee: User, smtp_server: SmtpSink
) -> Message:
    """The used link is spent; the second email sets the password; log in, read the
    message sent to them and reply: that message."""
    assert browser.get(path_of(join_url)).status_code == 404

    assert deliver_due() == 1
    [_, password_email] = smtp_server.wait_for(invitee.email, count=2)
    assert SUBJECT not in email_text(password_email)
    set_url = next(link for link in links_in(email_text(password_email)) if "/password/" in link)
    # The token moves from the URL into the session.
    form_url = _next(browser.get(path_of(set_url)))
    weak = browser.post(form_url, {"new_password1": "password", "new_password2": "password"})
    assert weak.status_code == 400
    assert b"too common" in weak.content
    _next(browser.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}))
    invitee.refresh_from_db()
    assert invitee.status == User.Status.ACTIVE
    assert invitee.password.startswith("argon2")
    # The link works once.
    assert b"no longer valid" in browser.get(path_of(set_url), follow=True).content

    login = {"username": invitee.email.upper(), "password": NEW_PASSWORD}
    _next(browser.post("/accounts/login/", login))
    assert SUBJECT.encode() in browser.get("/").content
    message = Delivery.objects.get(recipient=invitee).message
    page = browser.get(f"/m/{message.pk}/")
    assert BODY.encode() in page.content
    assert Delivery.objects.get(message=message, recipient=invitee).read_at is not None
    reply = {"body": "Thanks, see you Tuesday.", "client_token": client_token(page)}
    _next(browser.post(f"/m/{message.pk}/reply/", reply))
    return message


def _assert_sender_sees_the_reply(
    sender: Client, doctor: User, message: Message, smtp_server: SmtpSink
) -> None:
    """The sender is notified (no content) and sees the reply in the thread."""
    deliver_due()
    [notice] = smtp_server.wait_for(doctor.email)
    assert "replied" in notice["Subject"]
    assert "see you Tuesday" not in email_text(notice)
    assert b"Thanks, see you Tuesday." in sender.get(f"/m/{message.pk}/").content
    assert b"Re: " + SUBJECT.encode() in sender.get("/").content


# --- the seed flow, by role family ------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "kind", "steps", "specialty"),
    [
        ("doctor_my_practice", "doctor", [_about_you, _specialty], SPECIALTY),
        ("staff_my_practice", "staff", [_about_you], NO_SPECIALTY),
    ],
    ids=["doctor", "staff"],
)
def test_new_colleague_in_my_practice_registers_reads_and_replies(
    role: str,
    kind: str,
    steps: list[Step],
    specialty: tuple[str | None, int, str],
    doctor: User,
    login: Any,
    smtp_server: SmtpSink,
) -> None:
    sender = login(doctor)
    invitee = _invite_by_compose(sender, role)
    assert invitee.kind == kind
    assert invitee.practice_id == doctor.practice_id

    text, join_url = _welcome_email(smtp_server, invitee)
    # It says what the wizard will ask: not the practice (it is the sender's).
    assert "Practice information" not in text
    assert ("Your specialty" in text) is (_specialty in steps)
    assert "cell phone or landline" not in text
    _assert_only_the_token_hash_is_stored(invitee, join_url)

    browser = Client()
    _walk(browser, _start(browser, join_url, invitee), steps, smtp_server)
    _assert_registered(invitee, specialty)
    assert invitee.practice_id == doctor.practice_id

    message = _set_password_read_and_reply(browser, join_url, invitee, smtp_server)
    _assert_sender_sees_the_reply(sender, doctor, message, smtp_server)
    assert Practice.objects.count() == 1


@pytest.mark.parametrize(
    ("role", "kind", "steps", "specialty"),
    [
        ("doctor_other_practice", "doctor", [_practice, _about_you, _specialty], SPECIALTY),
        ("staff_other_practice", "staff", [_practice, _about_you], NO_SPECIALTY),
    ],
    ids=["doctor", "staff"],
)
def test_new_person_of_another_practice_registers_it_reads_and_replies(
    role: str,
    kind: str,
    steps: list[Step],
    specialty: tuple[str | None, int, str],
    doctor: User,
    login: Any,
    smtp_server: SmtpSink,
) -> None:
    sender = login(doctor)
    invitee = _invite_by_compose(sender, role)
    assert invitee.kind == kind
    assert invitee.practice_id != doctor.practice_id

    text, join_url = _welcome_email(smtp_server, invitee)
    # It says what the wizard will ask, their practice first.
    assert "Practice information" in text
    assert ("Your specialty" in text) is (_specialty in steps)
    assert "cell phone or landline" not in text
    _assert_only_the_token_hash_is_stored(invitee, join_url)

    browser = Client()
    _walk(browser, _start(browser, join_url, invitee), steps, smtp_server)
    _assert_registered(invitee, specialty)
    # They created their practice and manage it.
    assert invitee.practice.name == PRACTICE["name"]
    assert invitee.is_practice_manager
    assert invitee.practice_id != doctor.practice_id

    message = _set_password_read_and_reply(browser, join_url, invitee, smtp_server)
    _assert_sender_sees_the_reply(sender, doctor, message, smtp_server)
    assert Practice.objects.count() == 2


def test_new_patient_registers_reads_and_replies(
    doctor: User, login: Any, smtp_server: SmtpSink
) -> None:
    sender = login(doctor)
    invitee = _invite_by_compose(sender, "patient")
    assert invitee.kind == "patient"
    assert invitee.practice_id is None

    text, join_url = _welcome_email(smtp_server, invitee)
    # It says what the wizard will ask: a phone, which may be a landline.
    assert "Practice information" not in text
    assert "Your specialty" not in text
    assert "cell phone or landline" in text
    _assert_only_the_token_hash_is_stored(invitee, join_url)

    browser = Client()
    _walk(browser, _start(browser, join_url, invitee), [_about_you_as_patient], smtp_server)
    _assert_registered(invitee, NO_SPECIALTY)
    assert invitee.practice_id is None

    message = _set_password_read_and_reply(browser, join_url, invitee, smtp_server)
    _assert_sender_sees_the_reply(sender, doctor, message, smtp_server)
    assert Practice.objects.count() == 1
