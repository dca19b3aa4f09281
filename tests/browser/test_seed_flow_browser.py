"""The seed flow in a real Chromium, for each of the five recipient roles.

A paid doctor logs in and composes to a new address (the role select appears after the To
field loses focus); the welcome email arrives through real SMTP; the recipient, in a second
browser, walks the wizard like a person would (htmx procedures, SMS code), sets a password
from the second email, logs in, reads and replies; the sender sees the reply.
"""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from securemail.core import ratelimit
from securemail.notifications.services import deliver_due
from tests.support import PASSWORD, code_in, email_html, email_text, links_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SUBJECT = "Crown prep for tooth 14 — confidential"
BODY = "Patient presents with fractured cusp on 14. Hypertension, on lisinopril."
REPLY = "Thanks, I can see them Tuesday at 9."
NEW_PASSWORD = "Plover-Quartz-9931"
NEW_PHONE = "(202) 555-0177"
SMS_ADDRESS = "12025550177@sms.invalid"

ROLE_LABEL = "Select recipient's role"
ROLE_OPTIONS = {
    "doctor_my_practice": "Doctor in my practice",
    "staff_my_practice": "Staff in my practice",
    "doctor_other_practice": "Doctor in another practice",
    "staff_other_practice": "Staff in another practice",
    "patient": "Patient",
}
AXE_JS = Path(__file__).parent / "vendor" / "axe.min.js"


# --- helpers ------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _patient_expect() -> Iterator[None]:
    """Wait as long as the contexts do (10 s, conftest) before failing a check: a busy CI
    machine is slow, never wrong. Playwright's default (5 s) comes back afterwards."""
    expect.set_options(timeout=10_000)
    yield
    expect.set_options(timeout=5_000)


def log_in(page: Page, base_url: str, email: str, password: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Inbox", exact=True)).to_be_visible()


def expect_wizard_step(page: Page, base_url: str, title: str, step: str) -> None:
    """The wizard shows `title` as the page's main heading ("Title Step n of m") at `step`."""
    expect(page).to_have_url(f"{base_url}/register/{step}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile(rf"^{re.escape(title)}\s+Step \d of \d$")
    )


def click_middle(locator: Any) -> None:
    """Click the middle of what is drawn, as a person would. (Playwright's own click aims at
    the element's first box, which for the inbox links is the 1 px "Unread:" screen-reader
    label, clipped and so not clickable.)"""
    expect(locator).to_be_visible()
    box = locator.bounding_box()
    assert box is not None
    locator.click(position={"x": box["width"] / 2, "y": box["height"] / 2})


def role_select(page: Page) -> Any:
    return page.get_by_label(ROLE_LABEL, exact=True)


def type_recipient(page: Page, address: str) -> None:
    """Type an address in To and leave the field with Tab, as a person would."""
    to = page.get_by_label("To", exact=True)
    to.click()
    to.press_sequentially(address)
    to.press("Tab")


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


def serious_axe_violations(page: Page) -> list[str]:
    """Run axe-core in the page; the names of serious or critical violations."""
    # Evaluated through the DevTools protocol: the page's CSP forbids inline scripts.
    page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    results = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    assert results["passes"], "axe-core checked nothing"
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']]}"
        for v in results["violations"]
        if v["impact"] in {"serious", "critical"}
    ]


def header(message: Any, name: str) -> str:
    """A header's text as a mail client shows it (unfolded, trimmed)."""
    return " ".join(str(message[name]).split())


def assert_no_phi(text: str) -> None:
    assert SUBJECT not in text
    assert "Crown prep" not in text
    assert "fractured" not in text
    assert "lisinopril" not in text


# --- the seed flow ---------------------------------------------------------------------------


@pytest.mark.smtp
@pytest.mark.parametrize("role", list(ROLE_OPTIONS))
def test_new_recipient_registers_reads_and_replies_in_browser(
    role: str,
    doctor: Any,
    live_server: Any,
    smtp_server: Any,
    settings: Any,
    new_page: Any,
) -> None:
    settings.SECUREMAIL_BASE_URL = live_server.url
    base = live_server.url
    invitee_email = f"new.{role.replace('_', '-')}@example.test"
    other_practice = role.endswith("other_practice")
    is_doctor = role.startswith("doctor")

    # 1. The paid doctor logs in through the login page.
    sender = new_page()
    log_in(sender, base, doctor.email, PASSWORD)

    # 2. Compose to a brand-new address: the role select appears after tabbing out.
    sender.get_by_role("link", name="Compose").click()
    expect(sender.get_by_role("heading", name="New secure message")).to_be_visible()
    expect(role_select(sender)).to_have_count(0)
    type_recipient(sender, invitee_email)
    assert role_option_texts(sender) == list(ROLE_OPTIONS.values())
    expect(role_select(sender)).to_have_accessible_description(re.compile(re.escape(invitee_email)))
    expect(role_select(sender)).to_have_value("")
    role_select(sender).select_option(label=ROLE_OPTIONS[role])
    sender.get_by_label("Subject").fill(SUBJECT)
    sender.get_by_label("Message").fill(BODY)
    sender.get_by_role("button", name="Send securely").click()
    expect(sender.get_by_text("Your secure message was sent.")).to_be_visible()
    expect(sender.get_by_role("heading", name=SUBJECT)).to_be_visible()
    thread_url = sender.url
    assert re.search(r"/m/[^/]+/$", thread_url), thread_url

    # 3. The worker delivers the role's welcome email; it holds a link, never the message.
    assert deliver_due() == 1
    [welcome] = smtp_server.wait_for(invitee_email)
    text = email_text(welcome)
    assert "Dr. Jane Roe of Bright Smiles Dental has sent you a secure message" in header(
        welcome, "Subject"
    )
    for content in (text, email_html(welcome), welcome["Subject"]):
        assert_no_phi(content)
    # The role's welcome email says what the wizard will ask for.
    assert ("Practice information" in text) is other_practice
    assert ("Your specialty" in text) is is_doctor
    assert ("cell phone or landline" in text) is (role == "patient")
    join_url = next(link for link in links_in(text) if "/join/" in link)
    assert join_url.startswith(f"{base}/join/")

    # 4. The recipient, in a fresh browser, walks the wizard.
    recipient = new_page()
    recipient.goto(join_url)
    expect(
        recipient.get_by_role(
            "heading", name="Dr. Jane Roe of Bright Smiles Dental has sent you a secure message"
        )
    ).to_be_visible()
    expect(recipient.get_by_text(invitee_email)).to_be_visible()
    recipient.get_by_role("button", name="Start registration").click()

    # The wizard's steps follow SPEC §3's table for the role.
    steps = recipient.get_by_role("list", name="Registration steps").get_by_role("listitem")
    expect(steps).to_have_text(
        (["Your practice"] if other_practice else [])
        + ["About you"]
        + (["Specialty and procedures"] if is_doctor else [])
        + ["Verify your phone", "Terms of use"]
    )
    if other_practice:
        expect_wizard_step(recipient, base, "Your practice", "practice")
        recipient.get_by_label("Practice name").fill("Lakeside Family Dental")
        recipient.get_by_label("Website").fill("lakeside.example")
        recipient.get_by_label("Practice phone").fill("(312) 555-0188")
        recipient.get_by_label("Street address").fill("9 Lake Shore Drive")
        recipient.get_by_label("City").fill("Chicago")
        recipient.get_by_label("State", exact=True).fill("IL")
        recipient.get_by_label("ZIP code").fill("60601")
        recipient.get_by_role("button", name="Continue").click()

    expect_wizard_step(recipient, base, "About you", "you")
    expect(recipient.get_by_label("Email address")).to_have_value(invitee_email)
    if role == "patient":
        recipient.get_by_label("Cell phone or landline").fill(NEW_PHONE)
        expect(recipient.get_by_role("radio", name="Cell phone")).to_be_checked()
        expect(recipient.get_by_role("radio", name="Landline")).not_to_be_checked()
    else:
        expect(recipient.get_by_role("radio")).to_have_count(0)
        recipient.get_by_label("Cell phone").fill(NEW_PHONE)
    recipient.get_by_label("Full name").fill("Alex Newman")
    recipient.get_by_role("button", name="Continue").click()

    if is_doctor:
        expect_wizard_step(recipient, base, "Specialty and procedures", "specialty")
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

    expect_wizard_step(recipient, base, "Verify your phone", "verify")
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

    expect_wizard_step(recipient, base, "Terms of use", "terms")
    recipient.get_by_label("I accept the terms of use").check()
    recipient.get_by_role("button", name="Finish registration").click()
    expect(recipient.get_by_role("heading", name="Almost done: check your email")).to_be_visible()

    # 5. The second email: set a password, log in, read, reply.
    assert deliver_due() == 1
    [_, password_email] = smtp_server.wait_for(invitee_email, count=2)
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

    log_in(recipient, base, invitee_email, NEW_PASSWORD)
    subject_link = recipient.get_by_role("link", name=SUBJECT)
    expect(subject_link).to_have_accessible_name(f"Unread: {SUBJECT}")
    click_middle(subject_link)
    expect(recipient.get_by_role("heading", name=SUBJECT)).to_be_visible()
    expect(recipient.get_by_text(BODY)).to_be_visible()
    recipient.get_by_label("Your reply").fill(REPLY)
    recipient.get_by_role("button", name="Send reply").click()
    expect(recipient.get_by_text("Your reply was sent.")).to_be_visible()
    expect(recipient.get_by_text(REPLY)).to_be_visible()

    # 6. The sender is told (without the reply's text) and sees the reply in the thread.
    assert deliver_due() == 1
    [notice] = smtp_server.wait_for(doctor.email)
    shown_name = "Dr. Alex Newman" if is_doctor else "Alex Newman"
    practice_name = {
        "doctor_my_practice": "Bright Smiles Dental",
        "staff_my_practice": "Bright Smiles Dental",
        "doctor_other_practice": "Lakeside Family Dental",
        "staff_other_practice": "Lakeside Family Dental",
        "patient": None,
    }[role]
    of_practice = f" of {practice_name}" if practice_name else ""
    assert header(notice, "Subject") == (
        f"{shown_name}{of_practice} replied to your secure message"
    )
    for content in (email_text(notice), email_html(notice), notice["Subject"]):
        assert REPLY not in content
        assert "Tuesday" not in content
        assert_no_phi(content)
    sender.goto(thread_url)
    reply = sender.get_by_role("region", name=f"Message from {shown_name}", exact=True)
    expect(reply).to_contain_text(REPLY)
    if practice_name:
        expect(reply).to_contain_text(f"{shown_name} · {practice_name}")
    else:  # a patient belongs to no practice
        expect(reply.locator("header")).to_have_text(
            re.compile(rf"^\s*{shown_name}\s+to Dr\. Jane Roe ·")
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
        ratelimit.consume("lookup", f"user:{doctor.pk}")
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
