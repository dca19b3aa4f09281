"""The mailbox (issue 4, SPEC §4) in a real Chromium.

Compose to several people with attachments (XHR upload), a free patient's reply with a
file, expiry set before and after sending, delete for everyone, the delivery slip, drafts
saved while typing, keyboard use, axe-core on the busiest pages and a phone-sized screen.
Every check is what a person sees in the page, a file they download or an email that
arrives.
"""

import os
import re
from datetime import datetime, timedelta
from math import ceil
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import dateformat, timezone
from playwright.sync_api import Locator, Page, expect

from securemail.messaging.tests.helpers import send
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
from tests.support import PASSWORD, email_html, email_text

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SUBJECT = "Implant consult for tooth 30 — confidential"
BODY = "CBCT shows adequate bone height at 30. Patient is on warfarin; check INR first."
REPLY = "Thanks, doctor. Here is my insurance card, front and back."
DOCTOR_ZONE = ZoneInfo("America/New_York")  # the default time zone of every persona
SLIP_TIME = re.compile(r"^[A-Z][a-z]{2} \d{1,2} \d{1,2}:\d{2} [AP]M$")


# --- helpers ------------------------------------------------------------------------------


def a_file(name: str, content: bytes, mime: str = "application/octet-stream") -> dict[str, Any]:
    return {"name": name, "mimeType": mime, "buffer": content}


def chosen_file_text(file: dict[str, Any]) -> str:
    """How the attachment field lists a chosen file (securemail.js)."""
    return f"{file['name']} ({ceil(len(file['buffer']) / 1024)} KB)"


def attach(scope: Page | Locator, files: list[dict[str, Any]]) -> None:
    scope.get_by_label("Attachments").set_input_files(files)
    listed = scope.locator(".chosen-files").get_by_role("listitem")
    expect(listed).to_have_text([chosen_file_text(f) for f in files])


def send_to_known(
    page: Page,
    to: str,
    *,
    subject: str = SUBJECT,
    files: list[dict[str, Any]] | None = None,
    expiry: str | None = None,
) -> str:
    """Compose to an address SecureMail knows, send; returns the thread's URL."""
    open_compose(page)
    leave_typed(page.get_by_label("To", exact=True), to)
    expect(page.get_by_text("Already on SecureMail.")).to_be_visible()
    page.get_by_label("Subject").fill(subject)
    page.get_by_label("Message").fill(BODY)
    if files:
        attach(page, files)
    if expiry:
        page.get_by_label("Delete for everyone after").select_option(label=expiry)
    page.get_by_role("button", name="Send securely").click()
    expect(page.get_by_text("Your secure message was sent.")).to_be_visible()
    expect(page.get_by_role("heading", name=subject)).to_be_visible()
    assert re.search(r"/m/[0-9a-f-]+/$", page.url), page.url
    return page.url


def open_from_inbox(page: Page, subject: str = SUBJECT) -> None:
    click_middle(page.get_by_role("link", name=subject))
    expect(page.get_by_role("heading", name=subject)).to_be_visible()


def download(page: Page, section: Locator, name: str) -> bytes:
    """Click an attachment's link; the bytes the browser saved."""
    with page.expect_download() as info:
        section.get_by_role("list", name="Attachments").get_by_role("link", name=name).click()
    saved = info.value
    assert saved.suggested_filename == name
    return Path(saved.path()).read_bytes()


def shown_day(moment: datetime) -> str:
    """A date as the thread shows it ("Jan 5, 2026") in the doctor's time zone."""
    return dateformat.format(moment.astimezone(DOCTOR_ZONE), "M j, Y")


def shown_time(moment: datetime) -> str:
    """A time as the delivery slip shows it ("Jan 5 3:04 PM") in the doctor's time zone."""
    return dateformat.format(moment.astimezone(DOCTOR_ZONE), "M j g:i A")


def slip_cells(page: Page, recipient_name: str) -> Locator:
    """The delivery slip's cells for one recipient (Notice, Registered, Opened, Replied,
    Downloaded), after opening the slip."""
    slip = page.locator("details.slip")
    if slip.get_attribute("open") is None:
        slip.get_by_text("Delivery slip").click()
    row = slip.get_by_role("row", name=re.compile(re.escape(recipient_name)))
    expect(row).to_be_visible()
    return row.get_by_role("cell")


# --- compose to several people, with attachments ---------------------------------------------


@pytest.mark.smtp
def test_compose_to_several_with_attachments(
    doctor: Any, patient: Any, base: str, smtp_server: Any, new_page: Any
) -> None:
    new_to, new_cc = "new.colleague@example.test", "new.assistant@example.test"
    notes = a_file("referral-notes.txt", b"Referral: implant site 30, see CBCT.\n", "text/plain")
    scan = a_file("cbct-scan.bin", os.urandom(2 * 1024 * 1024))

    sender = new_page()
    log_in(sender, base, doctor.email, PASSWORD)
    open_compose(sender)
    leave_typed(sender.get_by_label("To", exact=True), f"{patient.email}, {new_to}")
    expect(role_select(sender)).to_have_count(1)
    leave_typed(sender.get_by_label("Cc"), new_cc)

    # One "Select recipient's role" per new address, none for the known patient.
    selects = role_select(sender)
    expect(selects).to_have_count(2)
    expect(selects.nth(0)).to_have_accessible_description(re.compile(re.escape(new_to)))
    expect(selects.nth(1)).to_have_accessible_description(re.compile(re.escape(new_cc)))
    for select in selects.all():
        expect(select).to_have_value("")
    assert serious_axe_violations(sender) == []
    selects.nth(0).select_option(label="Doctor in another practice")
    selects.nth(1).select_option(label="Staff in another practice")

    sender.get_by_label("Subject").fill(SUBJECT)
    sender.get_by_label("Message").fill(BODY)
    attach(sender, [notes, scan])
    sender.get_by_role("button", name="Send securely").click()
    expect(sender.get_by_text("Your secure message was sent.")).to_be_visible()
    expect(sender.get_by_role("heading", name=SUBJECT)).to_be_visible()
    mine = message_section(sender, "Dr. Jane Roe")
    expect(mine.get_by_role("list", name="Attachments").get_by_role("link")).to_have_text(
        [notes["name"], scan["name"]]
    )
    expect(mine.locator("header")).to_contain_text(f"{new_cc} (cc)")

    # The patient is notified, each new address gets its role's welcome email: no PHI.
    assert deliver_due() == 3
    smtp_server.wait_for(patient.email)
    smtp_server.wait_for(new_to)
    [welcome] = smtp_server.wait_for(new_cc)
    assert "Dr. Jane Roe of Bright Smiles Dental has sent you a secure message" in header(
        welcome, "Subject"
    )
    for content in (email_text(welcome), email_html(welcome), str(welcome["Subject"])):
        assert SUBJECT not in content
        assert "warfarin" not in content
        assert scan["name"] not in content

    # The patient, in their own browser, opens it and downloads the 2 MB file intact.
    reader = new_page()
    log_in(reader, base, patient.email, PASSWORD)
    open_from_inbox(reader)
    section = message_section(reader, "Dr. Jane Roe")
    expect(section).to_contain_text(BODY)
    assert download(reader, section, scan["name"]) == scan["buffer"]


# --- a free patient replies with a file ------------------------------------------------------


def test_free_patient_replies_with_attachment(
    doctor: Any, patient: Any, base: str, new_page: Any
) -> None:
    card = a_file("insurance-card.png", b"\x89PNG\r\n\x1a\n" + os.urandom(300_000))
    sender = new_page()
    log_in(sender, base, doctor.email, PASSWORD)
    thread_url = send_to_known(sender, patient.email)

    reader = new_page()
    log_in(reader, base, patient.email, PASSWORD)
    open_from_inbox(reader)
    # A free account replies, nothing more.
    expect(reader.get_by_role("button", name="Reply to all")).to_have_count(0)
    expect(reader.get_by_role("link", name="Forward")).to_have_count(0)
    reply_form = reader.locator("form.reply")
    reply_form.get_by_label("Your reply").fill(REPLY)
    attach(reply_form, [card])
    reply_form.get_by_role("button", name="Send reply").click()
    expect(reader.get_by_text("Your reply was sent.")).to_be_visible()
    expect(reader).to_have_url(thread_url)
    expect(message_section(reader, "Pat Smith")).to_contain_text(REPLY)

    sender.goto(thread_url)
    reply = message_section(sender, "Pat Smith")
    expect(reply).to_contain_text(REPLY)
    assert download(sender, reply, card["name"]) == card["buffer"]


# --- expiry ------------------------------------------------------------------------------------


def test_expiry_set_when_sending_and_changed_after(
    doctor: Any, patient: Any, base: str, new_page: Any
) -> None:
    from securemail.messaging.models import Message

    page = new_page()
    log_in(page, base, doctor.email, PASSWORD)
    before = timezone.now()
    send_to_known(page, patient.email, expiry="3 days")
    after = timezone.now()
    meta = message_section(page, "Dr. Jane Roe").locator("header")
    three_days = {shown_day(before + timedelta(days=3)), shown_day(after + timedelta(days=3))}
    expect(meta).to_contain_text(
        re.compile("deleted for everyone on (" + "|".join(map(re.escape, three_days)) + ")")
    )

    # After sending: tomorrow, where the doctor is.
    tomorrow = timezone.now().astimezone(DOCTOR_ZONE).date() + timedelta(days=1)
    page.get_by_label("Delete for everyone on").fill(tomorrow.isoformat())
    page.get_by_role("button", name="Change deletion date").click()
    expect(page.get_by_text("The deletion date was changed.")).to_be_visible()
    expect(meta).to_contain_text(f"deleted for everyone on {tomorrow:%b} {tomorrow.day}, ")
    expect(meta).to_contain_text(f"{tomorrow.year}")

    # Never beyond 30 days after sending.
    sent_at = Message.objects.get().sent_at
    latest = (sent_at + timedelta(days=30)).astimezone(DOCTOR_ZONE)
    too_late = timezone.now().astimezone(DOCTOR_ZONE).date() + timedelta(days=40)
    page.get_by_label("Delete for everyone on").fill(too_late.isoformat())
    page.get_by_role("button", name="Change deletion date").click()
    expect(
        page.get_by_text(
            "A message can't be kept more than 30 days after it was sent: choose "
            f"{latest:%B} {latest.day} or earlier."
        )
    ).to_be_visible()
    expect(meta).to_contain_text(f"deleted for everyone on {tomorrow:%b} {tomorrow.day}, ")


# --- delete for everyone ----------------------------------------------------------------------


def test_sender_deletes_for_everyone(doctor: Any, patient: Any, base: str, new_page: Any) -> None:
    sender = new_page()
    log_in(sender, base, doctor.email, PASSWORD)
    thread_url = send_to_known(sender, patient.email)

    reader = new_page()
    log_in(reader, base, patient.email, PASSWORD)
    expect(reader.get_by_role("link", name=SUBJECT)).to_be_visible()
    assert serious_axe_violations(reader) == []

    sender.get_by_role("button", name="Delete for everyone now").click()
    expect(sender.get_by_text("Deleted for everyone.")).to_be_visible()
    expect(sender.get_by_role("heading", name="Sent", exact=True)).to_be_visible()
    expect(sender.get_by_role("link", name=SUBJECT)).to_have_count(0)

    reader.reload()
    expect(reader.get_by_role("heading", name="Inbox", exact=True)).to_be_visible()
    expect(reader.get_by_role("link", name=SUBJECT)).to_have_count(0)
    expect(reader.get_by_text("No messages.")).to_be_visible()
    response = reader.goto(thread_url)
    assert response is not None
    assert response.status == 404
    expect(reader.get_by_role("heading", name=re.compile("not found", re.I))).to_be_visible()
    expect(reader.get_by_text(SUBJECT)).to_have_count(0)
    expect(reader.get_by_text(BODY)).to_have_count(0)


# --- the delivery slip -------------------------------------------------------------------------


def test_delivery_slip_shows_opened_and_downloaded(
    doctor: Any, patient: Any, base: str, new_page: Any
) -> None:
    from securemail.messaging.models import AttachmentDownload, Delivery

    xray = a_file("bitewing-xray.bin", os.urandom(50_000))
    sender = new_page()
    log_in(sender, base, doctor.email, PASSWORD)
    thread_url = send_to_known(sender, patient.email, files=[xray])
    cells = slip_cells(sender, "Pat Smith")
    notified, registered, opened, replied, downloaded = (cells.nth(i) for i in range(5))
    expect(cells).to_have_count(5)
    # Nothing sent yet: the worker hasn't run.
    expect(notified).to_have_text("queued")
    expect(registered).to_have_text("already a user")
    expect(opened).to_have_text("not yet")
    expect(replied).to_have_text("—")
    expect(downloaded).to_have_text("not yet")
    assert serious_axe_violations(sender) == []

    assert deliver_due() == 1
    sender.reload()
    expect(slip_cells(sender, "Pat Smith").nth(0)).to_have_text(
        re.compile(r"^\s*delivered to the mail server " + SLIP_TIME.pattern.strip("^$") + r"\s*$")
    )

    reader = new_page()
    log_in(reader, base, patient.email, PASSWORD)
    open_from_inbox(reader)
    section = message_section(reader, "Dr. Jane Roe")
    assert download(reader, section, xray["name"]) == xray["buffer"]

    sender.goto(thread_url)
    cells = slip_cells(sender, "Pat Smith")
    read_at = Delivery.objects.get(recipient=patient).read_at
    downloaded_at = AttachmentDownload.objects.get(user=patient).first_at
    assert read_at is not None
    expect(cells.nth(2)).to_have_text(shown_time(read_at))
    expect(cells.nth(4)).to_have_text(f"{xray['name']}: {shown_time(downloaded_at)}")


# --- drafts ------------------------------------------------------------------------------------


def test_draft_saves_while_typing_and_is_sent_later(
    doctor: Any, patient: Any, base: str, new_page: Any
) -> None:
    page = new_page()
    log_in(page, base, doctor.email, PASSWORD)
    open_compose(page)
    leave_typed(page.get_by_label("To", exact=True), patient.email)
    page.get_by_label("Subject").press_sequentially(SUBJECT)
    page.get_by_label("Message").press_sequentially(BODY)
    # Saved once typing stops for about 2 s.
    expect(page.locator("#draft-status")).to_have_text(
        re.compile(r"^Draft saved \d{1,2}:\d{2} [AP]M$")
    )
    expect(page.get_by_role("status").filter(has_text="Draft saved")).to_be_visible()

    page.get_by_role("link", name="Drafts").click()
    expect(page.get_by_role("heading", name="Drafts", exact=True)).to_be_visible()
    row = page.get_by_role("row", name=re.compile(re.escape(SUBJECT)))
    expect(row).to_contain_text(patient.email)
    row.get_by_role("link", name=SUBJECT).click()

    expect(page.get_by_role("heading", name="New secure message")).to_be_visible()
    expect(page.get_by_label("To", exact=True)).to_have_value(patient.email)
    expect(page.get_by_label("Subject")).to_have_value(SUBJECT)
    expect(page.get_by_label("Message")).to_have_value(BODY)
    page.get_by_role("button", name="Send securely").click()
    expect(page.get_by_text("Your secure message was sent.")).to_be_visible()
    expect(message_section(page, "Dr. Jane Roe")).to_contain_text(BODY)

    page.get_by_role("link", name="Drafts").click()
    expect(page.get_by_text("No drafts.")).to_be_visible()
    expect(page.get_by_role("link", name=SUBJECT)).to_have_count(0)


# --- keyboard, labels, phone -------------------------------------------------------------------


def test_compose_by_keyboard_with_labels_and_on_a_phone(
    doctor: Any, base: str, new_page: Any
) -> None:
    page = new_page()
    log_in(page, base, doctor.email, PASSWORD)
    page.goto(f"{base}/compose/")
    expect(page.get_by_role("heading", name="New secure message")).to_be_visible()

    # From the top of the page: the skip link, then the first field of the form.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    to = page.get_by_label("To", exact=True)
    expect(to).to_be_focused()
    page.keyboard.type("new.hygienist@example.test")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Cc")).to_be_focused()
    expect(role_select(page)).to_be_visible()
    page.keyboard.press("Tab")
    expect(role_select(page)).to_be_focused()
    expect(role_select(page)).to_have_accessible_description(
        re.compile(re.escape("new.hygienist@example.test"))
    )
    # Focus is drawn where the keyboard is.
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in {"", "none"}
    page.keyboard.press("ArrowDown")
    expect(role_select(page)).not_to_have_value("")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Subject")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Message")).to_be_focused()

    # Every control has an accessible name, and each label names exactly one control.
    form = page.locator("form.compose")
    controls = form.locator("input:not([type=hidden]), select, textarea, button")
    assert controls.count() >= 8
    for control in controls.all():
        expect(control).to_have_accessible_name(re.compile(r"\w"))
    for label in ("To", "Cc", "Subject", "Message", "Attachments", "Delete for everyone after"):
        expect(form.get_by_label(label, exact=label == "To")).to_have_count(1)
    expect(role_select(page)).to_have_count(1)

    # A phone-sized screen: no sideways scrolling.
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.get_by_label("Subject")).to_be_visible()
    width = page.evaluate("() => document.scrollingElement.scrollWidth")
    assert width <= 390, f"Compose scrolls sideways on a phone: {width}px wide"


def test_leaving_the_to_field_looks_the_address_up_once(
    doctor: Any, base: str, new_page: Any
) -> None:
    # Each look-up counts against the sender's per-minute limit: one per leaving the field.
    page = new_page()
    log_in(page, base, doctor.email, PASSWORD)
    open_compose(page)
    lookups: list[str] = []
    page.on("request", lambda r: lookups.append(r.url) if "/compose/lookup/" in r.url else None)

    leave_typed(page.get_by_label("To", exact=True), "new.person@example.test")

    expect(role_select(page)).to_be_visible()
    page.wait_for_timeout(500)
    assert len(lookups) == 1


def test_back_to_the_inbox_after_reading_shows_it_read(
    doctor: Any, patient: Any, base: str, new_page: Any
) -> None:
    """Issue 11: after reading, the unread badge (and the row) count only what is still
    unread, also when the reader comes back with the browser's Back button."""
    send(doctor, patient, subject="First of two")
    send(doctor, patient, subject="Second of two")
    page = new_page()
    log_in(page, base, patient.email, PASSWORD)
    badge = page.get_by_role("navigation").locator(".badge")
    expect(badge).to_have_text("2")

    open_from_inbox(page, "First of two")
    expect(badge).to_have_text("1")
    page.go_back()

    expect(page.get_by_role("link", name="Second of two")).to_be_visible()
    expect(badge).to_have_text("1")
    expect(page.locator("tr.unread")).to_have_count(1)
