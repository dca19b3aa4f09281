"""The storage quota (issue 11) in a real Chromium: a doctor near the quota sees the use in
the top bar (and in the phone's Menu) and on the profile page, attaches a file that would
pass it in compose and is told so, then sends one that fits."""

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from securemail.messaging.models import Message
from securemail.messaging.tests.helpers import send_with_files
from tests.browser.helpers import leave_typed, log_in, open_compose, serious_axe_violations
from tests.support import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

KB = 1024


def _a_file(name: str, size: int) -> dict[str, Any]:
    return {
        "name": name,
        "mimeType": "application/pdf",
        "buffer": b"%PDF-1.4\n" + b"x" * (size - 9),
    }


def _compose_with(page: Page, to: str, file: dict[str, Any]) -> None:
    open_compose(page)
    leave_typed(page.get_by_label("To", exact=True), to)
    expect(page.get_by_text("Already on SecureMail.")).to_be_visible()
    page.get_by_label("Subject").fill("Treatment plan")
    page.get_by_label("Message").fill("The plan we discussed is attached.")
    page.get_by_label("Attachments").set_input_files([file])
    page.get_by_role("button", name="Send securely").click()


def test_a_file_past_the_quota_is_refused_in_compose_and_one_that_fits_is_sent(
    settings: Any, doctor: Any, patient: Any, base: str, new_page: Any
) -> None:
    settings.SECUREMAIL_PLANS = {
        code: {**plan, "storage_bytes": 1024 * KB}
        for code, plan in settings.SECUREMAIL_PLANS.items()
    }
    send_with_files(doctor, patient, files={"earlier.bin": b"e" * (900 * KB)})
    page = new_page()
    log_in(page, base, doctor.email, PASSWORD)

    expect(page.get_by_role("meter", name="900 KB of 1 MB used")).to_be_visible()

    _compose_with(page, patient.email, _a_file("treatment-plan.pdf", 200 * KB))

    expect(
        page.get_by_text(
            "“treatment-plan.pdf” would pass your storage quota: 900 KB used of 1 MB; 124 KB left."
        )
    ).to_be_visible()
    # The form is back as typed, nothing was sent.
    expect(page.get_by_role("heading", name="New secure message")).to_be_visible()
    expect(page.get_by_label("Subject")).to_have_value("Treatment plan")
    assert Message.objects.filter(sender=doctor).count() == 1
    assert serious_axe_violations(page) == []

    page.get_by_label("Attachments").set_input_files([_a_file("treatment-plan.pdf", 100 * KB)])
    page.get_by_role("button", name="Send securely").click()

    expect(page.get_by_text("Your secure message was sent.")).to_be_visible()
    expect(page.get_by_role("meter", name="1000 KB of 1 MB used")).to_be_visible()

    page.get_by_role("link", name="Profile").click()
    expect(page.get_by_role("heading", name="Your profile")).to_be_visible()
    expect(page.get_by_role("meter", name="1000 KB of 1 MB used; 24 KB left.")).to_be_visible()
    assert serious_axe_violations(page) == []

    # On a phone the use is in the Menu, with the profile's links.
    page.set_viewport_size({"width": 390, "height": 844})
    menu_meter = page.locator(".account").get_by_role("meter", name="1000 KB of 1 MB used")
    expect(menu_meter).to_be_hidden()
    page.get_by_text("Menu", exact=True).click()
    expect(menu_meter).to_be_visible()
