"""The seed flow in a real Chromium, for each recipient role, one test per role family:
a colleague in the sender's practice, someone of another practice, a patient.

A paid doctor logs in and composes to a new address (the role select appears after the To
field loses focus); the welcome email arrives through real SMTP; the recipient, in a second
browser, walks the wizard like a person would (htmx procedures, SMS code), sets a password
from the second email, logs in, reads and replies; the sender sees the reply.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from securemail.core import ratelimit
from securemail.notifications.services import deliver_due
from tests.browser.helpers import (
    click_middle,
    header,
    leave_typed,
    log_in,
    message_section,
    open_compose,
    role_select,
    serious_axe_violations,
)
from tests.support import PASSWORD, SmtpSink, code_in, email_html, email_text, links_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SUBJECT = "Crown prep for tooth 14 — confidential"
BODY = "Patient presents with fractured cusp on 14. Hypertension, on lisinopril."
REPLY = "Thanks, I can see them Tuesday at 9."
NEW_PASSWORD = "Plover-Quartz-9931"
NEW_PHONE = "(202) 555-0177"
SMS_ADDRESS = "12025550177@sms.invalid"
SENDER_PRACTICE = "Bright Smiles Dental"
NEW_PRACTICE = "Lakeside Family Dental"

ROLE_OPTIONS = {
    "doctor_my_practice": "Doctor in my practice",
    "staff_my_practice": "Staff in my practice",
    "doctor_other_practice": "Doctor in another practice",
    "staff_other_practice": "Staff in another practice",
    "patient": "Patient",
}


# --- helpers ------------------------------------------------------------------------------


def expect_wizard_step(page: Page, base_url: str, title: str, step: str) -> None:
    """The wizard shows `title` as the page's main heading ("Title Step n of m") at `step`."""
    expect(page).to_have_url(f"{base_url}/register/{step}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile(rf"^{re.escape(title)}\s+Step \d of \d$")
    )


def type_recipient(page: Page, address: str) -> None:
    """Type an address in To and leave the field with Tab, as a person would."""
    leave_typed(page.get_by_label("To", exact=True), address)


def role_option_texts(page: Page) -> list[str]:
    select = role_select(page)
    expect(select).to_be_visible()
    options = select.locator("option")
    return [
        text.strip()
        for text, value in zip(
            options.all_inner_texts(),
            options.evaluate_all("(opts) => opts.map((o) => o.value)"),
            strict=True,
        )
        if value
    ]


def assert_no_phi(text: str) -> None:
    assert SUBJECT not in text
    assert "Crown prep" not in text
    assert "fractured" not in text
    assert "lisinopril" not in text


def invitee_address(role: str) -> str:
    return f"new.{role.replace('_', '-')}@example.test"


# --- the seed flow, step by step ---------------------------------------------------------------


def compose_to_new_address(sender: Page, base: str, doctor: Any, role: str) -> str:
    """The paid doctor logs in and sends to a brand-new address with `role`; the thread's
    URL. The role select appears only after tabbing out of To."""
    log_in(sender, base, doctor.email, PASSWORD)
    open_compose(sender)
    expect(role_select(sender)).to_have_count(0)
    type_recipient(sender, invitee_address(role))
    assert role_option_texts(sender) == list(ROLE_OPTIONS.values())
    expect(role_select(sender)).to_have_accessible_description(
        re.compile(re.escape(invitee_address(role)))
    )
    expect(role_select(sender)).to_have_value("")
    role_select(sender).select_option(label=ROLE_OPTIONS[role])
    sender.get_by_label("Subject").fill(SUBJECT)
    sender.get_by_label("Message").fill(BODY)
    sender.get_by_role("button", name="Send securely").click()
    expect(sender.get_by_text("Your secure message was sent.")).to_be_visible()
    expect(sender.get_by_role("heading", name=SUBJECT)).to_be_visible()
    assert re.search(r"/m/[^/]+/$", sender.url), sender.url
    return sender.url


def welcome_email(smtp_server: SmtpSink, base: str, address: str) -> tuple[str, str]:
    """The worker delivers the role's welcome email: it holds a link, never the message.
    Its text and its join link."""
    assert deliver_due() == 1
    [welcome] = smtp_server.wait_for(address)
    text = email_text(welcome)
    assert "Dr. Jane Roe of Bright Smiles Dental has sent you a secure message" in header(
        welcome, "Subject"
    )
    for content in (text, email_html(welcome), welcome["Subject"]):
        assert_no_phi(content)
    join_url = next(link for link in links_in(text) if "/join/" in link)
    assert join_url.startswith(f"{base}/join/")
    return text, join_url


def start_registration(recipient: Page, join_url: str, address: str) -> None:
    recipient.goto(join_url)
    expect(
        recipient.get_by_role(
            "heading", name="Dr. Jane Roe of Bright Smiles Dental has sent you a secure message"
        )
    ).to_be_visible()
    expect(recipient.get_by_text(address)).to_be_visible()
    recipient.get_by_role("button", name="Start registration").click()


@dataclass(frozen=True)
class Step:
    """A wizard step (SPEC §3's table): its title, its URL, and how a person answers it."""

    title: str
    slug: str
    answer: Callable[[Page, SmtpSink], None]


def _answer_practice(recipient: Page, smtp_server: SmtpSink) -> None:
    recipient.get_by_label("Practice name").fill(NEW_PRACTICE)
    recipient.get_by_label("Website").fill("lakeside.example")
    recipient.get_by_label("Practice phone").fill("(312) 555-0188")
    recipient.get_by_label("Street address").fill("9 Lake Shore Drive")
    recipient.get_by_label("City").fill("Chicago")
    recipient.get_by_label("State", exact=True).fill("IL")
    recipient.get_by_label("ZIP code").fill("60601")
    recipient.get_by_role("button", name="Continue").click()


def _answer_about_you(recipient: Page, smtp_server: SmtpSink) -> None:
    # A doctor or staff member gives a cell phone: no landline choice.
    expect(recipient.get_by_role("radio")).to_have_count(0)
    recipient.get_by_label("Cell phone").fill(NEW_PHONE)
    recipient.get_by_label("Full name").fill("Alex Newman")
    recipient.get_by_role("button", name="Continue").click()


def _answer_about_you_as_patient(recipient: Page, smtp_server: SmtpSink) -> None:
    # A patient may give a landline (and is called with the code); a cell phone by default.
    recipient.get_by_label("Cell phone or landline").fill(NEW_PHONE)
    expect(recipient.get_by_role("radio", name="Cell phone")).to_be_checked()
    expect(recipient.get_by_role("radio", name="Landline")).not_to_be_checked()
    recipient.get_by_label("Full name").fill("Alex Newman")
    recipient.get_by_role("button", name="Continue").click()


def _answer_specialty(recipient: Page, smtp_server: SmtpSink) -> None:
    procedures = recipient.locator("#procedures")
    expect(procedures.get_by_role("checkbox")).to_have_count(0)
    recipient.get_by_label("Specialty", exact=True).select_option(label="Endodontics")
    # htmx swaps in the procedures with the specialty's usual ones ticked.
    root_canal = recipient.get_by_role("checkbox", name="Root canal treatment")
    expect(root_canal).to_be_checked()
    ticked = procedures.locator("input[type=checkbox]:checked")
    count = ticked.count()
    assert count >= 5
    expect(recipient.get_by_role("button", name="Show procedures")).to_be_hidden()
    root_canal.uncheck()
    expect(ticked).to_have_count(count - 1)
    recipient.get_by_label("NPI").fill("1234567893")
    recipient.get_by_role("button", name="Continue").click()


def _answer_verify(recipient: Page, smtp_server: SmtpSink) -> None:
    expect(recipient.get_by_text("Your number: (•••) •••-0177 (cell phone)")).to_be_visible()
    recipient.get_by_role("button", name="Text me a code").click()
    expect(recipient.get_by_text("We sent a new code to")).to_be_visible()
    # The text waits in the outbox; the worker hands it to the (local) SMS provider.
    assert deliver_due() == 1
    [sms] = smtp_server.wait_for(SMS_ADDRESS)
    sms_text = email_text(sms)
    assert_no_phi(sms_text)
    recipient.get_by_label("6-digit code").fill(code_in(sms_text))
    recipient.get_by_role("button", name="Verify").click()
    expect(recipient.get_by_text("Your phone is verified.")).to_be_visible()


def _answer_terms(recipient: Page, smtp_server: SmtpSink) -> None:
    recipient.get_by_label("I accept the terms of use").check()
    recipient.get_by_role("button", name="Finish registration").click()
    expect(recipient.get_by_role("heading", name="Almost done: check your email")).to_be_visible()


PRACTICE = Step("Your practice", "practice", _answer_practice)
ABOUT_YOU = Step("About you", "you", _answer_about_you)
ABOUT_YOU_AS_PATIENT = Step("About you", "you", _answer_about_you_as_patient)
SPECIALTY = Step("Specialty and procedures", "specialty", _answer_specialty)
VERIFY = Step("Verify your phone", "verify", _answer_verify)
TERMS = Step("Terms of use", "terms", _answer_terms)


def walk_wizard(recipient: Page, base: str, steps: list[Step], smtp_server: SmtpSink) -> None:
    """The wizard lists exactly `steps` and shows them in order; each is answered well."""
    listed = recipient.get_by_role("list", name="Registration steps").get_by_role("listitem")
    expect(listed).to_have_text([step.title for step in steps])
    for step in steps:
        expect_wizard_step(recipient, base, step.title, step.slug)
        step.answer(recipient, smtp_server)


def set_password_read_and_reply(
    recipient: Page, base: str, smtp_server: SmtpSink, address: str
) -> None:
    """The second email: set a password, log in, read, reply."""
    assert deliver_due() == 1
    [_, password_email] = smtp_server.wait_for(address, count=2)
    password_text = email_text(password_email)
    assert_no_phi(password_text)
    assert_no_phi(password_email["Subject"])
    set_url = next(link for link in links_in(password_text) if "/password/" in link)
    assert set_url.startswith(f"{base}/accounts/password/")
    recipient.goto(set_url)
    expect(recipient.get_by_role("heading", name="Set your password")).to_be_visible()
    recipient.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    recipient.get_by_label("New password confirmation").fill(NEW_PASSWORD)
    recipient.get_by_role("button", name="Set password").click()
    expect(recipient.get_by_text("Your password is set.")).to_be_visible()

    log_in(recipient, base, address, NEW_PASSWORD)
    subject_link = recipient.get_by_role("link", name=SUBJECT)
    expect(subject_link).to_have_accessible_name(f"Unread: {SUBJECT}")
    click_middle(subject_link)
    expect(recipient.get_by_role("heading", name=SUBJECT)).to_be_visible()
    expect(recipient.get_by_text(BODY)).to_be_visible()
    recipient.get_by_label("Your reply").fill(REPLY)
    recipient.get_by_role("button", name="Send reply").click()
    expect(recipient.get_by_text("Your reply was sent.")).to_be_visible()
    expect(recipient.get_by_text(REPLY)).to_be_visible()


def sender_sees_the_reply(
    sender: Page, thread_url: str, smtp_server: SmtpSink, doctor: Any, *, name: str, told: str
) -> Locator:
    """The sender is told (without the reply's text) that `told` replied, and finds the
    reply of `name` in the thread: its section."""
    assert deliver_due() == 1
    [notice] = smtp_server.wait_for(doctor.email)
    assert header(notice, "Subject") == f"{told} replied to your secure message"
    for content in (email_text(notice), email_html(notice), notice["Subject"]):
        assert REPLY not in content
        assert "Tuesday" not in content
        assert_no_phi(content)
    sender.goto(thread_url)
    reply = message_section(sender, name)
    expect(reply).to_contain_text(REPLY)
    return reply


# --- the seed flow, by role family ---------------------------------------------------------------


@pytest.mark.smtp
@pytest.mark.parametrize(
    ("role", "shown_name", "steps"),
    [
        ("doctor_my_practice", "Dr. Alex Newman", [ABOUT_YOU, SPECIALTY, VERIFY, TERMS]),
        ("staff_my_practice", "Alex Newman", [ABOUT_YOU, VERIFY, TERMS]),
    ],
    ids=["doctor", "staff"],
)
def test_new_colleague_in_my_practice_registers_reads_and_replies_in_browser(
    role: str,
    shown_name: str,
    steps: list[Step],
    doctor: Any,
    base: str,
    smtp_server: SmtpSink,
    new_page: Any,
) -> None:
    sender = new_page()
    thread_url = compose_to_new_address(sender, base, doctor, role)

    text, join_url = welcome_email(smtp_server, base, invitee_address(role))
    # The welcome email says what the wizard will ask for: not the practice, it is ours.
    assert "Practice information" not in text
    assert ("Your specialty" in text) is (SPECIALTY in steps)
    assert "cell phone or landline" not in text

    recipient = new_page()
    start_registration(recipient, join_url, invitee_address(role))
    walk_wizard(recipient, base, steps, smtp_server)
    set_password_read_and_reply(recipient, base, smtp_server, invitee_address(role))

    told = f"{shown_name} of {SENDER_PRACTICE}"
    reply = sender_sees_the_reply(
        sender, thread_url, smtp_server, doctor, name=shown_name, told=told
    )
    expect(reply).to_contain_text(f"{shown_name} · {SENDER_PRACTICE}")


@pytest.mark.smtp
@pytest.mark.parametrize(
    ("role", "shown_name", "steps"),
    [
        (
            "doctor_other_practice",
            "Dr. Alex Newman",
            [PRACTICE, ABOUT_YOU, SPECIALTY, VERIFY, TERMS],
        ),
        ("staff_other_practice", "Alex Newman", [PRACTICE, ABOUT_YOU, VERIFY, TERMS]),
    ],
    ids=["doctor", "staff"],
)
def test_new_person_of_another_practice_registers_it_reads_and_replies_in_browser(
    role: str,
    shown_name: str,
    steps: list[Step],
    doctor: Any,
    base: str,
    smtp_server: SmtpSink,
    new_page: Any,
) -> None:
    sender = new_page()
    thread_url = compose_to_new_address(sender, base, doctor, role)

    text, join_url = welcome_email(smtp_server, base, invitee_address(role))
    # The welcome email says what the wizard will ask for, their practice first.
    assert "Practice information" in text
    assert ("Your specialty" in text) is (SPECIALTY in steps)
    assert "cell phone or landline" not in text

    recipient = new_page()
    start_registration(recipient, join_url, invitee_address(role))
    walk_wizard(recipient, base, steps, smtp_server)
    set_password_read_and_reply(recipient, base, smtp_server, invitee_address(role))

    told = f"{shown_name} of {NEW_PRACTICE}"
    reply = sender_sees_the_reply(
        sender, thread_url, smtp_server, doctor, name=shown_name, told=told
    )
    expect(reply).to_contain_text(f"{shown_name} · {NEW_PRACTICE}")


@pytest.mark.smtp
def test_new_patient_registers_reads_and_replies_in_browser(
    doctor: Any, base: str, smtp_server: SmtpSink, new_page: Any
) -> None:
    sender = new_page()
    thread_url = compose_to_new_address(sender, base, doctor, "patient")

    text, join_url = welcome_email(smtp_server, base, invitee_address("patient"))
    # The welcome email says what the wizard will ask for: a phone that may be a landline.
    assert "Practice information" not in text
    assert "Your specialty" not in text
    assert "cell phone or landline" in text

    recipient = new_page()
    start_registration(recipient, join_url, invitee_address("patient"))
    walk_wizard(recipient, base, [ABOUT_YOU_AS_PATIENT, VERIFY, TERMS], smtp_server)
    set_password_read_and_reply(recipient, base, smtp_server, invitee_address("patient"))

    reply = sender_sees_the_reply(
        sender, thread_url, smtp_server, doctor, name="Alex Newman", told="Alex Newman"
    )
    # A patient belongs to no practice.
    expect(reply.locator("header")).to_have_text(
        re.compile(r"^\s*Alex Newman\s+to Dr\. Jane Roe ·")
    )


# --- the role select only for new addresses, compose only for paid users ----------------------


def test_known_address_gets_no_role_select(
    doctor: Any, patient: Any, live_server: Any, new_page: Any
) -> None:
    page = new_page()
    log_in(page, live_server.url, doctor.email, PASSWORD)
    page.goto(f"{live_server.url}/compose/")
    type_recipient(page, patient.email.upper())
    expect(page.get_by_text("Already on SecureMail.")).to_be_visible()
    expect(role_select(page)).to_have_count(0)
    expect(page.get_by_text("Select recipient's role")).to_have_count(0)


def test_lookup_errors_show_next_to_the_addresses(
    doctor: Any, live_server: Any, new_page: Any
) -> None:
    page = new_page()
    log_in(page, live_server.url, doctor.email, PASSWORD)
    page.goto(f"{live_server.url}/compose/")
    # The 400 answer (too many addresses) is swapped into the page.
    page.get_by_label("To", exact=True).fill(", ".join(f"p{i}@example.test" for i in range(21)))
    page.get_by_label("To", exact=True).press("Tab")
    expect(page.get_by_role("alert")).to_have_text("Send to at most 20 people at once.")
    # So is the 429 one (the look-up limit), once the limit is spent.
    for _ in range(60):
        ratelimit.spend("lookup", f"user:{doctor.pk}")
    page.get_by_label("To", exact=True).fill("one.more@example.test")
    page.get_by_label("To", exact=True).press("Tab")
    expect(page.get_by_role("alert")).to_have_text(
        "Too many address look-ups. Wait a minute and try again."
    )


def test_free_user_sees_why_compose_is_closed(
    free_staff: Any, live_server: Any, new_page: Any
) -> None:
    page = new_page()
    log_in(page, live_server.url, free_staff.email, PASSWORD)
    response = page.goto(f"{live_server.url}/compose/")
    assert response is not None
    assert response.status == 403
    expect(page.get_by_role("heading", name="Composing is a paid feature")).to_be_visible()
    expect(page.get_by_label("To", exact=True)).to_have_count(0)


# --- accessibility ------------------------------------------------------------------------------


@pytest.mark.smtp
def test_compose_and_about_you_have_no_serious_axe_violations(
    doctor: Any, live_server: Any, smtp_server: Any, settings: Any, new_page: Any
) -> None:
    settings.SECUREMAIL_BASE_URL = live_server.url
    base = live_server.url
    page = new_page()
    log_in(page, base, doctor.email, PASSWORD)
    page.goto(f"{base}/compose/")
    type_recipient(page, "new.axe@example.test")
    expect(role_select(page)).to_be_visible()
    assert serious_axe_violations(page) == []

    role_select(page).select_option(label="Patient")
    page.get_by_label("Subject").fill("Appointment")
    page.get_by_label("Message").fill("See you soon.")
    page.get_by_role("button", name="Send securely").click()
    expect(page.get_by_text("Your secure message was sent.")).to_be_visible()
    assert deliver_due() == 1
    [welcome] = smtp_server.wait_for("new.axe@example.test")
    join_url = next(link for link in links_in(email_text(welcome)) if "/join/" in link)

    recipient = new_page()
    recipient.goto(join_url)
    recipient.get_by_role("button", name="Start registration").click()
    expect_wizard_step(recipient, base, "About you", "you")
    assert serious_axe_violations(recipient) == []
