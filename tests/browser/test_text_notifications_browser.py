"""Issue 11 in a real Chromium: notifications that obey the user. A patient with a verified
cell phone chooses "Text message only" on their profile; a doctor sends them a secure
message; the worker hands the text to the local SMS provider, which mails it on to the SMTP
server and so to the local catcher (/dev/mail/): the text, with its link and nothing of the
message, is there, and no email went to the patient. The link opens the message; the
doctor's delivery slip says a text went."""

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from securemail.accounts.models import User
from securemail.notifications import catcher
from securemail.notifications.services import deliver_due
from tests.browser.helpers import leave_typed, log_in, open_compose, serious_axe_violations
from tests.support import PASSWORD, SmtpSink, email_text, links_in

pytestmark = [pytest.mark.browser, pytest.mark.smtp, pytest.mark.django_db(transaction=True)]

SUBJECT = "Biopsy result for tooth 19 — confidential"
BODY = "The lesion is benign fibroma. No further treatment; recall in six months."


@pytest.fixture
def sms_catcher(smtp_server: SmtpSink, settings: Any, tmp_path: Path) -> SmtpSink:
    """The SMTP server also keeps what it receives as the local catcher does (its own
    handler, into its directory), and the catcher's pages are on."""
    settings.SECUREMAIL_CATCHER_ENABLED = True
    settings.SECUREMAIL_CATCHER_DIR = tmp_path / "catcher"
    keep = catcher._SaveToDirectory(settings.SECUREMAIL_CATCHER_DIR)
    receive = smtp_server.handle_DATA

    async def handle_data(server: Any, session: Any, envelope: Any) -> str:
        await keep.handle_DATA(server, session, envelope)
        return await receive(server, session, envelope)

    smtp_server.handle_DATA = handle_data  # type: ignore[method-assign]
    return smtp_server


def choose_text_only(page: Page, base: str, user: User) -> None:
    log_in(page, base, user.email, PASSWORD)
    page.goto(f"{base}/accounts/profile/")
    page.get_by_label("Tell me about new messages by").select_option(label="Text message only")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Your profile was saved.")).to_be_visible()
    expect(page.get_by_label("Tell me about new messages by")).to_have_value("sms")


def send_to(page: Page, address: str) -> str:
    open_compose(page)
    leave_typed(page.get_by_label("To", exact=True), address)
    expect(page.get_by_text("Already on SecureMail.")).to_be_visible()
    page.get_by_label("Subject").fill(SUBJECT)
    page.get_by_label("Message").fill(BODY)
    page.get_by_role("button", name="Send securely").click()
    expect(page.get_by_text("Your secure message was sent.")).to_be_visible()
    return page.url


def slip_notice(page: Page, name: str) -> Any:
    slip = page.locator("details.slip")
    if slip.get_attribute("open") is None:
        slip.get_by_text("Delivery slip").click()
    return slip.get_by_role("row", name=re.compile(re.escape(name))).get_by_role("cell").nth(0)


def test_text_only_notifications_arrive_as_a_text_and_never_as_an_email(
    doctor: User, patient: User, base: str, new_page: Any, sms_catcher: SmtpSink
) -> None:
    recipient = new_page()
    choose_text_only(recipient, base, patient)

    sender = new_page()
    log_in(sender, base, doctor.email, PASSWORD)
    thread_url = send_to(sender, patient.email)
    expect(slip_notice(sender, "Pat Smith")).to_have_text("text message queued")

    # The worker: the text goes to the SMS provider (the local one mails it on).
    assert deliver_due() == 1
    sms_address = f"{patient.phone.lstrip('+')}@sms.invalid"
    [sms] = sms_catcher.wait_for(sms_address)
    text = email_text(sms)
    [link] = links_in(text)
    assert link == thread_url
    for secret in [SUBJECT, "Biopsy", "fibroma", "Jane Roe", "Bright Smiles"]:
        assert secret not in text
    # No email to the patient, of any kind.
    assert sms_catcher.to(patient.email) == []
    assert [to for _, rcpt in sms_catcher.envelopes for to in rcpt] == [sms_address]

    # The local catcher shows the text, with its link, and the link opens the message.
    recipient.goto(f"{base}/dev/mail/")
    caught = recipient.get_by_role("row", name=re.compile(re.escape(sms_address)))
    expect(caught).to_have_count(1)
    caught.get_by_role("link", name=f"SMS to {patient.phone}").click()
    expect(recipient.get_by_text("A new secure message is waiting.")).to_be_visible()
    recipient.get_by_role("link", name=link).click()
    expect(recipient.get_by_role("heading", name=SUBJECT)).to_be_visible()
    assert recipient.url == thread_url

    sender.reload()
    expect(slip_notice(sender, "Pat Smith")).to_have_text(
        re.compile(r"^\s*text message sent [A-Z][a-z]{2} \d{1,2} \d{1,2}:\d{2} [AP]M\s*$")
    )
    assert serious_axe_violations(sender) == []


def test_text_only_is_refused_on_the_profile_without_a_verified_cell_phone(
    patient: User, base: str, new_page: Any
) -> None:
    User.objects.filter(pk=patient.pk).update(phone_verified_at=None)
    page = new_page()
    log_in(page, base, patient.email, PASSWORD)
    page.goto(f"{base}/accounts/profile/")
    page.get_by_label("Tell me about new messages by").select_option(label="Text message only")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_text("Text messages need a verified cell phone.")).to_be_visible()
    patient.refresh_from_db()
    assert patient.notify_by == User.Notify.EMAIL
    assert serious_axe_violations(page) == []
