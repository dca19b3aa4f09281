"""The practice's user manager in a real Chromium, on the demo's data (`make run`): the demo
doctor opens "Practice users" from the top bar, re-sends an invitation (the invitee's old
link says "no longer valid", the new one opens the registration) and unlocks the staff
member's account after five wrong passwords (who then logs in)."""

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from securemail.accounts.models import User
from securemail.onboarding.tests.helpers import MAILBOX, invite
from securemail.ops.demo import seed_demo
from tests.browser.helpers import log_in, serious_axe_violations
from tests.support import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

INVITEE = "new.hygienist@demo.test"


def wrong_passwords(page: Page, base: str, email: str, times: int) -> None:
    for _ in range(times):
        page.goto(f"{base}/accounts/login/")
        page.get_by_label("Email address").fill(email)
        page.get_by_label("Password").fill("not the password 123")
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_text("don't match an active account")).to_be_visible()


def test_the_demo_manager_resends_an_invitation_and_unlocks_an_account(
    base: str, new_page: Any
) -> None:
    seed_demo(PASSWORD)
    doctor = User.objects.get(email="doctor@demo.test")
    _, old_link = invite(doctor, INVITEE, "staff_my_practice")
    staff_page = new_page()
    wrong_passwords(staff_page, base, "staff@demo.test", 5)

    manager = new_page()
    log_in(manager, base, doctor.email, PASSWORD)
    manager.get_by_role("link", name="Practice users").click()
    expect(manager.get_by_role("heading", name="Users of Bright Smiles Dental")).to_be_visible()
    assert serious_axe_violations(manager) == []

    invited = manager.get_by_role("row", name=re.compile(re.escape(INVITEE)))
    expect(invited).to_contain_text("Invited")
    invited.get_by_role("button", name="Re-send invitation").click()
    expect(
        manager.get_by_text(f"A fresh invitation link was sent to {INVITEE}; the old link")
    ).to_be_visible()
    new_link = MAILBOX.link(INVITEE, "/join/")
    assert new_link != old_link
    invitee_page = new_page()
    invitee_page.goto(f"{base}{old_link}")
    expect(invitee_page.get_by_role("heading", name="This link is no longer valid")).to_be_visible()
    invitee_page.goto(f"{base}{new_link}")
    expect(
        invitee_page.get_by_role(
            "heading", name="Dr. Jane Roe of Bright Smiles Dental has sent you a secure message"
        )
    ).to_be_visible()
    expect(invitee_page.get_by_role("button", name="Start registration")).to_be_visible()

    locked = manager.get_by_role("row", name=re.compile("Sam Front"))
    expect(locked).to_contain_text("Locked")
    locked.get_by_role("button", name="Unlock account").click()
    expect(manager.get_by_text("Sam Front's account is unlocked.")).to_be_visible()
    unlocked = manager.get_by_role("row", name=re.compile("Sam Front"))
    expect(unlocked).not_to_contain_text("Locked")
    expect(unlocked.get_by_role("button", name="Unlock account")).to_have_count(0)

    log_in(staff_page, base, "staff@demo.test", PASSWORD)
    expect(staff_page.get_by_role("link", name="Practice users")).to_have_count(0)
