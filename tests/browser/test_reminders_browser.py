"""Issue 11, "Onboarding that follows up", in a real Chromium: a doctor invites a new
patient from Compose; three days later (the clock moved forward, the worker's periodic job
run in-process) the patient's inbox gets a reminder through real SMTP, with a registration
link that works, and the doctor's delivery slip shows it on the invitee's timeline. The
doctor clicks "Stop reminders": the timeline says so, and day 15 sends nothing."""

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import Page, expect

from securemail.notifications.services import deliver_due
from securemail.ops.worker import periodic
from tests.browser.helpers import log_in, message_section, serious_axe_violations
from tests.browser.test_every_page_fits_browser import MEASURE
from tests.browser.test_seed_flow_browser import (
    assert_no_phi,
    compose_to_new_address,
    invitee_address,
    welcome_email,
)
from tests.support import PASSWORD, SmtpSink, email_html, email_text, links_in, own_ratchet

pytestmark = [pytest.mark.browser, pytest.mark.smtp, pytest.mark.django_db(transaction=True)]

NEWCOMER = invitee_address("patient")
SUBJECT = "Reminder: Dr. Jane Roe of Bright Smiles Dental has sent you a secure message"


@pytest.fixture
def traveller(tmp_path: Path) -> Iterator[Any]:
    """The clock, ticking from now, movable; the live server's thread reads it too. A
    shredding ratchet of the test's own: the worker's pass days ahead must not shred the
    suite's day keys."""
    with time_machine.travel(timezone.now(), tick=True) as clock, own_ratchet(tmp_path / "r"):
        yield clock


def open_onboarding(page: Page, thread_url: str) -> Any:
    """The doctor's thread page with the delivery slip open: the invitee's onboarding."""
    page.goto(thread_url)
    mine = message_section(page, "Dr. Jane Roe")
    mine.get_by_text("Delivery slip").click()
    onboarding = mine.get_by_role("region", name=f"Onboarding of {NEWCOMER}")
    expect(onboarding).to_be_visible()
    return onboarding


def test_a_reminder_on_day_three_then_the_doctor_stops_them_in_browser(
    traveller: Any, doctor: Any, base: str, smtp_server: SmtpSink, new_page: Any
) -> None:
    invited_at = timezone.now()
    sender = new_page()
    thread_url = compose_to_new_address(sender, base, doctor, "patient")
    _, join_url = welcome_email(smtp_server, base, NEWCOMER)
    timeline = open_onboarding(sender, thread_url).get_by_role("list")
    expect(timeline.get_by_role("listitem").first).to_have_text(
        re.compile(r"^Notified: \w{3} \d+ \d+:\d\d [AP]M$")
    )
    expect(timeline).to_contain_text("Opened the link: not yet")
    expect(timeline).not_to_contain_text("Reminder")

    # Three days later the worker's periodic job runs, and the outbox delivers.
    traveller.move_to(invited_at + timedelta(days=3, minutes=1))
    periodic()
    assert deliver_due() == 1
    [_, reminder] = smtp_server.wait_for(NEWCOMER, count=2)
    assert " ".join(str(reminder["Subject"]).split()) == SUBJECT
    text = email_text(reminder)
    for content in (text, email_html(reminder), str(reminder["Subject"])):
        assert_no_phi(content)
    assert "It is still waiting for you, and it will be deleted for good on" in text
    [link] = [link for link in links_in(text) if "/join/" in link]
    # The same link as the welcome email's, and it works.
    assert link == join_url
    recipient = new_page()
    recipient.goto(link)
    expect(
        recipient.get_by_role(
            "heading", name="Dr. Jane Roe of Bright Smiles Dental has sent you a secure message"
        )
    ).to_be_visible()
    expect(recipient.get_by_role("button", name="Start registration")).to_be_visible()

    # The doctor (idle for days: logged out) logs in again and finds it on the timeline.
    log_in(sender, base, doctor.email, PASSWORD)
    onboarding = open_onboarding(sender, thread_url)
    expect(onboarding.get_by_role("listitem")).to_contain_text(
        ["Notified: ", "Reminder sent day 3: ", "Opened the link: "]
    )
    assert serious_axe_violations(sender) == []

    onboarding.get_by_role("button", name="Stop reminders").click()
    expect(sender.get_by_text(f"No more reminders will be sent to {NEWCOMER}.")).to_be_visible()
    onboarding = open_onboarding(sender, thread_url)
    expect(onboarding).to_contain_text("Reminders stopped:")
    expect(onboarding.get_by_role("button", name="Stop reminders")).to_have_count(0)
    # On a phone the timeline fits the screen.
    sender.set_viewport_size({"width": 320, "height": 700})
    open_onboarding(sender, thread_url)
    measured = sender.evaluate(MEASURE)
    assert measured["scrollWidth"] <= measured["innerWidth"], measured["wide"]

    # Day 15: nothing more.
    traveller.move_to(invited_at + timedelta(days=15, minutes=1))
    periodic()
    assert deliver_due() == 0
    assert len(smtp_server.to(NEWCOMER)) == 2
