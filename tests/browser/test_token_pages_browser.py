"""The token pages in a real Chromium (issue 9): they send `Referrer-Policy: no-referrer`,
so the browser posts their forms with `Origin: null`, and every one of those forms still
works: "Forgot your password?", the set-password form, the "no longer valid" page's fresh
link button, and the fresh registration link."""

from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from securemail.accounts.models import PasswordLink, User
from securemail.onboarding.tests.helpers import MAILBOX
from tests.browser.helpers import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "Plover-Quartz-9931"


def _ask_for_a_link(page: Page, base: str, email: str) -> None:
    opened = page.goto(f"{base}/accounts/password/")
    assert opened is not None
    assert opened.headers["referrer-policy"] == "no-referrer"
    page.get_by_label("Email address").fill(email)
    page.get_by_role("button", name="Email me a link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()


def test_a_forgotten_password_is_reset_through_the_no_referrer_pages(
    new_page: Any, base: str, doctor: User
) -> None:
    page = new_page()
    _ask_for_a_link(page, base, doctor.email)
    link = f"{base}{MAILBOX.link(doctor.email, '/accounts/password/')}"

    opened = page.goto(link)

    assert opened is not None
    assert opened.headers["referrer-policy"] == "no-referrer"
    assert page.url.endswith("/set-password/")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password confirmation").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set password").click()
    expect(page.get_by_text("Your password is set.")).to_be_visible()
    log_in(page, base, doctor.email, NEW_PASSWORD)


def test_an_expired_links_button_and_the_fresh_registration_link_work(
    new_page: Any, base: str, doctor: User
) -> None:
    page = new_page()
    _ask_for_a_link(page, base, doctor.email)
    link = f"{base}{MAILBOX.link(doctor.email, '/accounts/password/')}"
    # A day later: the link is past its hours.
    PasswordLink.objects.filter(user=doctor).update(expires_at=timezone.now())

    page.goto(link)
    expect(page.get_by_role("heading", name="This link is no longer valid")).to_be_visible()
    page.get_by_role("button", name="Send me a fresh link").click()
    expect(page.get_by_text("a fresh link to set your password is on its way")).to_be_visible()
    assert MAILBOX.link(doctor.email, "/accounts/password/") != link.removeprefix(base)

    page.goto(f"{base}/register/link/")
    page.get_by_label("Email address").fill("nobody.invited@example.test")
    page.get_by_role("button", name="Send a fresh link").click()
    expect(page.get_by_text("a fresh link is on its way")).to_be_visible()
