"""Issue 11, "Export as PDF", in a real Chromium: a doctor opens a conversation, clicks Export
as PDF, and the file the browser saves is the conversation (read back with pypdf)."""

import io
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.utils import dateformat, timezone
from django.utils.timezone import localtime
from playwright.sync_api import expect
from pypdf import PdfReader

from securemail.messaging.services import reply
from securemail.messaging.tests.helpers import BODY, SUBJECT, send_with_files
from tests.browser.helpers import click_middle, log_in
from tests.support import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REPLY = "Thank you, doctor. The swelling is down."


def test_a_doctor_exports_a_conversation_and_the_pdf_holds_it(
    doctor: Any, patient: Any, base: str, new_page: Any
) -> None:
    root = send_with_files(doctor, patient, files={"post-op-care.pdf": b"%PDF-1.7\n" * 200})
    reply(sender=patient, parent=root, body=REPLY, client_token=uuid.uuid4())
    page = new_page()
    log_in(page, base, doctor.email, PASSWORD)
    click_middle(page.get_by_role("link", name=f"Re: {SUBJECT}"))
    # The patient's reply, opened from the inbox: the whole conversation shows.
    expect(page.get_by_role("heading", name=SUBJECT, exact=True)).to_be_visible()

    with page.expect_download() as info:
        page.get_by_role("button", name="Export as PDF").click()
    saved = info.value

    today = localtime(timezone.now(), doctor.zone)
    assert saved.suggested_filename == f"conversation-{today:%Y-%m-%d}.pdf"
    reader = PdfReader(io.BytesIO(Path(saved.path()).read_bytes()))
    text = " ".join(" ".join(p.extract_text().split()) for p in reader.pages)
    assert SUBJECT in text
    assert text.index(BODY) < text.index(REPLY)
    assert "Attachments: post-op-care.pdf (1.8 KB)" in text
    assert f"Bright Smiles Dental · Exported {dateformat.format(today, 'F j, Y')}" in text
    assert f"Page 1 of {len(reader.pages)}" in text
    # The page stays where it was, the conversation still open.
    expect(page.get_by_role("heading", name=SUBJECT, exact=True)).to_be_visible()
